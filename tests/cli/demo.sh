#!/usr/bin/env bash
# stash demo, small: a first run computes and verifies, a second is served from
# the store and says so, for dir: and hdf5:; none: always computes; NumPy and
# nengo's reader load features.nco and NumPy's own FFT agrees with it; a
# damaged store entry is recomputed and replaced, a well-formed but wrong one
# fails the verification with exit 1 and publishes nothing; tiny and odd ring
# sizes finish; a closed stdout does not stop a run; bad usage exits 2; no ring
# is left in /dev/shm; a report names only files that exist, and its counts
# agree. (Signals: demo_signals.sh.)
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
  ring_gone "$name"
}
has() { grep -qF -- "$2" "$work/$1.out" || fail "$1: no '$2' in: $(<"$work/$1.out")"; }

# ring_gone NAME: the ring the report of run NAME names (its own, stash-demo-PID) is gone.
# (Other demos may run beside this test: only this run's ring is its business.)
ring_gone() {
  local ring
  ring=$(grep -oE 'through the ring stash-demo-[0-9]+ ' "$work/$1.out" | grep -oE 'stash-demo-[0-9]+')
  [[ -n $ring ]] || fail "$1: the report names no ring"
  [[ ! -e /dev/shm/$ring ]] || fail "$1: $ring was left in /dev/shm"
}

# truthful NAME: the report in $work/NAME.out names only files that exist, and
# its windows are its hits plus its computed.
truthful() {
  local out=$work/$1.out files path windows hits computed
  files=$(grep -F '| files written |' "$out") || fail "$1: no files row"
  while read -r path; do
    [[ -z $path || -e $path ]] || fail "$1: the report names $path, which does not exist"
  done < <(grep -oE "$work/[^ ,)|]+" <<<"$files")
  windows=$(grep -oE '\| windows \| [0-9 ]+ of' "$out" | tr -dc 0-9)
  hits=$(grep -oE '` [0-9 ]+ hits' "$out" | tr -dc 0-9)
  computed=$(grep -oE 'hits, [0-9 ]+ computed' "$out" | tr -dc 0-9)
  [[ -n $windows && $windows == $((hits + computed)) ]] ||
    fail "$1: $windows windows, $hits hits, $computed computed"
}

# ---- help ------------------------------------------------------------------------------
help=$("$stash" demo --help)
[[ $help == "usage: stash demo"* && $help == *"examples:"* ]] || fail "help: $help"

# ---- dir: first run computes, second is served ----------------------------------------
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
diff <(grep '^|' "$work/d/report.md") <(grep '^|' "$work/first.out") >/dev/null ||
  fail "the saved report is not the printed one"
truthful first
run second --dir "$work/d" "${small[@]}"
has second "57 hits, 0 computed"
has second "Served from the store: all 57 windows; nothing was recomputed."
truthful second
[[ ! -e $work/d/features.nco.unverified ]] || fail "the staging file was left"

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
# A run that fails publishes nothing: the last good report and features stay.
cp "$work/d/report.md" "$work/good-report.md"
cp "$work/d/features.nco" "$work/good-features.nco"
code=0
"$stash" demo --dir "$work/d" "${small[@]}" >"$work/wrong.out" 2>"$work/wrong.err" || code=$?
[[ $code == 1 ]] || fail "a wrong entry: exit $code"
has wrong "# stash demo: failed"
has wrong "FAILED: 1 of 57 windows differ from their recomputation"
has wrong "FAILED: the features do not verify."
ring_gone wrong
has wrong "| files written | none: a run that fails publishes nothing; kept as they were: $work/d/features.nco, $work/d/report.md |"
truthful wrong
[[ $(<"$work/wrong.err") == "stash demo: FAILED: the features do not verify; nothing published" ]] ||
  fail "wrong: stderr: $(<"$work/wrong.err")"
cmp -s "$work/d/report.md" "$work/good-report.md" || fail "a failed run replaced report.md"
cmp -s "$work/d/features.nco" "$work/good-features.nco" || fail "a failed run replaced features.nco"
[[ ! -e $work/d/features.nco.unverified ]] || fail "a failed run left its staging file"

# ---- hdf5: and none: ----------------------------------------------------------------------
run h1 --dir "$work/h" --store "hdf5:$work/h/results.h5" "${small[@]}"
has h1 "0 hits, 57 computed and stored; 57 entries in the store after this run"
run h2 --dir "$work/h" --store "hdf5:$work/h/results.h5" "${small[@]}"
has h2 "Served from the store: all 57 windows"
run none --dir "$work/n" --store none: "${small[@]}"
has none "none: keeps nothing, so every run computes"
has none "| verification | passed"

# ---- tiny and odd rings: raised to a window and a chunk, and never a hang ----------------
# The acquisition holds back by the ring's real capacity; with the one asked
# for, --ring below a window waited forever. timeout only catches a hang.
for ring in 1 10 1000 1057 4099; do
  code=0
  timeout 60 "$stash" demo --dir "$work/r$ring" --store none: --ring "$ring" --samples 8192 \
    --channels 3 --workers 2 >"$work/ring$ring.out" 2>&1 || code=$?
  [[ $code == 0 ]] || fail "--ring $ring: exit $code (124: it hung): $(<"$work/ring$ring.out")"
  has "ring$ring" "| verification | passed"
  truthful "ring$ring"
  ring_gone "ring$ring"
done
has ring1 "| windows | 15 of 15,"
# The issue's own command: 64 channels, the default store.
code=0
timeout 60 "$stash" demo --dir "$work/dd" --ring 10 --samples 8192 >"$work/dd.out" 2>&1 || code=$?
[[ $code == 0 ]] || fail "--ring 10: exit $code (124: it hung): $(<"$work/dd.out")"
# Raised to hold a window and a chunk (1024 + 32), then rounded to the ring's granule.
capacity=$(grep -oE 'in /dev/shm \([0-9 ]+ samples' "$work/dd.out" | tr -dc 0-9)
((capacity >= 1056)) || fail "--ring 10 made a ring of ${capacity:-no} samples"
truthful dd
ring_gone dd

# ---- a reader of stdout that leaves early does not stop the run half-way ----------------
set +o pipefail
"$stash" demo --dir "$work/p" --store none: "${small[@]}" 2>"$work/pipe.err" | head -1 >/dev/null
code=${PIPESTATUS[0]}
set -o pipefail
[[ $code == 0 ]] || fail "demo | head: exit $code: $(<"$work/pipe.err")"
cp "$work/p/report.md" "$work/pipe.out" || fail "demo | head: no report.md"
truthful pipe
ring_gone pipe

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
