#!/usr/bin/env bash
# stash demo, small: a first run computes and verifies, a second is served from
# the store and says so, for dir: and hdf5:; none: always computes; NumPy and
# nengo's reader load features.nco and NumPy's own FFT agrees with it; a
# damaged store entry is recomputed and replaced, a well-formed but wrong one
# fails the verification with exit 1; bad usage exits 2; no ring is left in
# /dev/shm.
set -euo pipefail
stash=$1 work=$2 interop=$3
py=/usr/bin/python3
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
small=(--samples 30000 --channels 12 --workers 3)

# run NAME ARGS...: the demo's stdout in $work/NAME.out; fails unless it exits 0.
run() {
  local name=$1
  shift
  "$stash" demo "$@" >"$work/$name.out" 2>"$work/$name.err" \
    || fail "demo $*: exit $?: $(<"$work/$name.err") $(<"$work/$name.out")"
}
has() { grep -qF -- "$2" "$work/$1.out" || fail "$1: no '$2' in: $(<"$work/$1.out")"; }

# ---- help ------------------------------------------------------------------------------
help=$("$stash" demo --help)
[[ $help == "usage: stash demo"* && $help == *"examples:"* ]] || fail "help: $help"

# ---- dir: first run computes, second is served ----------------------------------------
shm_rings() { local r=(/dev/shm/stash-demo-*); [[ -e ${r[0]} ]] && echo ${#r[@]} || echo 0; }
shm_before=$(shm_rings)
run first --dir "$work/d" "${small[@]}"
has first "| verification | passed: all 3 420 features"
has first "0 hits, 57 computed and stored"
has first "Computed every window. Run it again"
has first "100%: 57 of 57 windows analysed"
[[ -s $work/d/features.nco && -s $work/d/report.md ]] || fail "outputs missing"
stored=("$work"/d/store/*.nco)
[[ ${#stored[@]} == 57 ]] || fail "the store holds ${#stored[@]} entries"
# The saved report is the printed one.
grep -qF "$(head -1 "$work/d/report.md")" "$work/first.out" || fail "report.md differs"
run second --dir "$work/d" "${small[@]}"
has second "57 hits, 0 computed"
has second "Served from the store: all 57 windows; nothing was recomputed."
[[ $(shm_rings) == "$shm_before" ]] || fail "a ring was left"

# ---- the NCO file through nengo's reader and NumPy's FFT --------------------------------
if "$py" -c 'import numpy' 2>/dev/null; then
  "$py" "$interop/demo_features.py" "$work/d/features.nco" || fail "demo_features.py"
fi
"$stash" nco ls "$work/d/features.nco" >"$work/ls.out" || fail "nco ls exited $?"
has ls "float64, shape (57, 12, 5)"

# ---- a damaged entry is replaced; a wrong one fails verification -------------------------
entries=("$work"/d/store/*.nco)
entry=${entries[0]}
head -c 100 "$entry" >"$work/cut" && mv "$work/cut" "$entry"
run repaired --dir "$work/d" "${small[@]}"
has repaired "56 hits, 1 computed and stored (1 replacing damaged entries)"
has repaired "| verification | passed"
entries=("$work"/d/store/*.nco)
entry=${entries[0]}
size=$(stat -c %s "$entry")
printf 'A' | dd of="$entry" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
code=0
"$stash" demo --dir "$work/d" "${small[@]}" >"$work/wrong.out" 2>&1 || code=$?
[[ $code == 1 ]] || fail "a wrong entry: exit $code"
has wrong "FAILED: 1 of 57 windows differ from their recomputation"
has wrong "FAILED: the features do not verify."

# ---- hdf5: and none: ----------------------------------------------------------------------
run h1 --dir "$work/h" --store "hdf5:$work/h/results.h5" "${small[@]}"
has h1 "0 hits, 57 computed and stored; 57 entries in the store after this run"
run h2 --dir "$work/h" --store "hdf5:$work/h/results.h5" "${small[@]}"
has h2 "Served from the store: all 57 windows"
run none --dir "$work/n" --store none: "${small[@]}"
has none "none: keeps nothing, so every run computes"
has none "| verification | passed"

# ---- bad usage exits 2 ----------------------------------------------------------------------
for args in "--window 1000" "--window 256" "--hop 2048" "--samples 100" "--workers 0" \
  "--workers 17" "--channels x" "--bogus 1" "--dir"; do
  code=0
  # shellcheck disable=SC2086
  "$stash" demo --dir "$work/u" $args >/dev/null 2>"$work/usage.err" || code=$?
  [[ $code == 2 ]] || fail "demo $args: exit $code"
  [[ $(wc -l <"$work/usage.err") == 1 ]] || fail "demo $args: $(<"$work/usage.err")"
done
echo "demo: all checks passed"
