#!/usr/bin/env bash
# stash demo, stopped: SIGINT, SIGTERM and SIGHUP to the demo's process group
# (as Ctrl-C, `kill -TERM -PGID` and a closing terminal send them), or to the
# parent alone, stop every process, remove the ring, print a report that says
# it was interrupted and what was done, keep the last good report.md and
# features.nco, and exit 128 + the signal. A SIGKILLed parent's children stop
# too. Runs stopped at random instants by SIGINT, SIGTERM or SIGKILL never
# leave a report that names a missing file or disagrees with the features
# beside it, and a ring one leaves behind has no live writer (so `stash ring
# rm` may take it). A child killed alone fails the run (exit 1), which then
# cleans up and keeps the good outputs just the same.
#
# Nothing here depends on speed: a signal is sent once the ring exists (or the
# verification has begun), each outcome a signal may meet is checked for what
# it must then be, and the long timeouts only turn a hang into a failure.
set -euo pipefail
stash=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
set -m # each background demo leads its own process group, as a shell's job would
fail() { echo "FAIL: $*" >&2; exit 1; }
pid='' # the demo running now, for cleanup
cleanup() {
  if [[ -n $pid ]]; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    "$stash" ring rm "stash-demo-$pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# A run long enough that no signal below can come after its end.
long=(--channels 64 --samples 16777216 --workers 2)
small=(--channels 12 --samples 30000 --workers 2)

# launch NAME ARGS...: starts the demo in the background, its pid in $pid.
launch() {
  local name=$1
  shift
  "$stash" demo "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
}

# await_ring: until the demo's ring exists (its processes are set up).
await_ring() {
  local i
  for ((i = 0; i < 1200; i++)); do
    [[ -e /dev/shm/stash-demo-$pid ]] && return 0
    kill -0 "$pid" 2>/dev/null || fail "the demo exited before its ring appeared"
    sleep 0.05
  done
  fail "no ring after 60 s"
}

# finish: waits for the demo (a hang fails after 120 s); its exit status in $code.
finish() {
  local i
  for ((i = 0; i < 2400; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && fail "the demo did not exit within 120 s of the signal"
  code=0
  wait "$pid" || code=$?
}

# no_processes_left: nothing of the demo's process group runs on (bounded wait).
no_processes_left() {
  local i
  for ((i = 0; i < 400; i++)); do
    pgrep -g "$pid" >/dev/null || return 0
    sleep 0.05
  done
  fail "processes of the demo still run: $(pgrep -a -g "$pid")"
}

has() { grep -qF -- "$2" "$work/$1.out" || fail "$1: no '$2' in: $(<"$work/$1.out")"; }

# truthful NAME DIR: the report NAME printed names only files that exist; if
# DIR has a report.md, features.nco beside it has the shape the report gives.
truthful() {
  local name=$1 dir=$2 path shape
  while read -r path; do
    [[ -z $path || -e $path ]] || fail "$name: the report names $path, which does not exist"
  done < <(grep -F '| files written |' "$work/$name.out" | grep -oE "$work/[^ ,)|]+")
  [[ -e $dir/report.md ]] || return 0
  [[ -e $dir/features.nco ]] || fail "$name: report.md without features.nco"
  # "then a 57 x 12 x 5 float64 array" and "shape (57, 12, 5)" must agree
  shape=$(sed -nE 's/.*then a ([0-9]+) x ([0-9]+) x 5 float64.*/\1 \2/p' "$dir/report.md")
  "$stash" nco ls "$dir/features.nco" >"$work/ls.out" || fail "$name: nco ls: exit $?"
  [[ -n $shape && $(sed -nE 's/.*shape \(([0-9]+), ([0-9]+), 5\).*/\1 \2/p' "$work/ls.out") == \
     "$shape" ]] || fail "$name: report.md says $shape; $(<"$work/ls.out")"
}

# ---- a good run first: the report and features every stopped run must keep --------------
dir=$work/d
"$stash" demo --dir "$dir" "${small[@]}" >"$work/good.out" 2>&1 || fail "good run: $(<"$work/good.out")"
cp "$dir/report.md" "$work/good-report.md"
cp "$dir/features.nco" "$work/good-features.nco"

# kept NAME [WHY]: nothing published; the good report and features still there.
kept() {
  cmp -s "$dir/report.md" "$work/good-report.md" || fail "$1: report.md was replaced"
  cmp -s "$dir/features.nco" "$work/good-features.nco" || fail "$1: features.nco was replaced"
  [[ ! -e $dir/features.nco.unverified ]] || fail "$1: the staging file was left"
  has "$1" "| files written | none: a run that ${2:-is interrupted} publishes nothing; kept as they were: $dir/features.nco, $dir/report.md |"
  truthful "$1" "$dir"
}

# stopped NAME SIGNAL CODE: the run NAME was interrupted by SIGNAL, exited CODE, left nothing.
stopped() {
  local name=$1 sig=$2 want=$3
  [[ $code == "$want" ]] || fail "$name: exit $code, wanted $want: $(<"$work/$name.err")"
  [[ ! -e /dev/shm/stash-demo-$pid ]] || fail "$name: the ring was left in /dev/shm"
  no_processes_left
  has "$name" "# stash demo: interrupted by $sig"
  has "$name" "| verification | not done: interrupted by $sig |"
  has "$name" "INTERRUPTED by $sig"
  has "$name" "The ring was removed and nothing was published."
  [[ $(<"$work/$name.err") == "stash demo: interrupted by $sig; nothing published" ]] ||
    fail "$name: stderr: $(<"$work/$name.err")"
  kept "$name"
  pid=''
}

# ---- SIGINT and SIGTERM to the process group, while streaming ---------------------------
launch int --dir "$dir" "${long[@]}"
await_ring
kill -INT -- "-$pid"
finish
stopped int SIGINT 130
has int "windows done; the processes were stopped."

launch term --dir "$dir" --store "hdf5:$work/results.h5" "${long[@]}"
await_ring
kill -TERM -- "-$pid"
finish
stopped term SIGTERM 143

# ---- SIGHUP, as a closing terminal sends it -----------------------------------------------
launch hup --dir "$dir" --store none: "${long[@]}"
await_ring
kill -HUP -- "-$pid"
finish
stopped hup SIGHUP 129

# ---- SIGTERM to the parent alone: it stops its children itself ---------------------------
launch parent --dir "$dir" --store none: "${long[@]}"
await_ring
kill -TERM "$pid"
finish
stopped parent SIGTERM 143

# ---- SIGKILL to the parent alone: the children stop; the ring's writer is gone -----------
launch killed --dir "$dir" --store none: "${long[@]}"
await_ring
kill -KILL "$pid"
finish
[[ $code == 137 ]] || fail "killed: exit $code"
no_processes_left
"$stash" ring info "stash-demo-$pid" >"$work/killed-ring.out" || fail "killed: no ring left?"
has killed-ring "writer_attached:  no"
"$stash" ring rm --stale "stash-demo-$pid" || fail "killed: ring rm --stale: exit $?"
[[ ! -e /dev/shm/stash-demo-$pid ]] || fail "killed: ring rm --stale left the ring"
cmp -s "$dir/report.md" "$work/good-report.md" || fail "killed: report.md was replaced"
pid=''

# ---- a child killed: the run fails, says which and why, and cleans up as for a signal -------
launch child --dir "$dir" --store none: "${long[@]}"
await_ring
for ((i = 0; i < 1200; i++)); do
  (($(pgrep -P "$pid" | wc -l) >= 3)) && break # the acquisition and two analysts
  sleep 0.05
done
victim=$(pgrep -P "$pid" | tail -1)
[[ -n $victim ]] || fail "child: no children"
kill -KILL "$victim"
finish
[[ $code == 1 ]] || fail "child: exit $code: $(<"$work/child.err")"
[[ ! -e /dev/shm/stash-demo-$pid ]] || fail "child: the ring was left in /dev/shm"
no_processes_left
has child "# stash demo: failed"
has child " was stopped by SIGKILL"
has child "| verification | not done: the run failed before it |"
[[ $(<"$work/child.err") == "stash demo: FAILED: "*" was stopped by SIGKILL; nothing published" ]] ||
  fail "child: stderr: $(<"$work/child.err")"
kept child fails
pid=''

# ---- SIGINT while verifying: nothing published, or (if it was done) all of it -------------
launch verifying --dir "$dir" --store none: --channels 64 --samples 600000 --workers 2
for ((i = 0; i < 6000; i++)); do
  grep -qF "verifying" "$work/verifying.out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -INT -- "-$pid" 2>/dev/null || true
finish
if [[ $code == 130 ]]; then
  stopped verifying SIGINT 130
  has verifying "while checking the features"
else
  # It concluded before the signal landed: then it published, and truly.
  [[ $code == 0 ]] || fail "verifying: exit $code: $(<"$work/verifying.err")"
  has verifying "| verification | passed"
  truthful verifying "$dir"
  cp "$dir/report.md" "$work/good-report.md"
  cp "$dir/features.nco" "$work/good-features.nco"
  pid=''
fi

# ---- random instants, random signals: never a false report --------------------------------
# Two sizes in turn, so a report beside the other size's features would show;
# the store in turn, so some signals land in puts. A run takes about a second
# here, and the delay is up to 1.2 s: some rounds finish, most do not.
for round in 1 2 3 4 5 6 7 8; do
  sig=$(shuf -n1 -e INT TERM KILL)
  samples=$((round % 2 ? 300000 : 200000))
  store=()
  ((round % 4 < 2)) && store=(--store none:)
  cp "$dir/report.md" "$work/before.md" 2>/dev/null || rm -f "$work/before.md"
  launch "round$round" --dir "$dir" --channels 32 --samples "$samples" --workers 2 "${store[@]}"
  sleep "$(printf '0.%03d' "$(shuf -i 0-999 -n1)")"
  sleep "0.$(shuf -i 0-2 -n1)"
  kill "-$sig" -- "-$pid" 2>/dev/null || true
  finish
  case $code in
    0) has "round$round" "| verification | passed" ;;
    130 | 143)
      [[ ! -e /dev/shm/stash-demo-$pid ]] || fail "round $round: SIG$sig left the ring"
      has "round$round" "INTERRUPTED by SIG$sig"
      if [[ -e $work/before.md ]]; then
        cmp -s "$dir/report.md" "$work/before.md" || fail "round $round: report.md replaced"
      fi ;;
    137)
      # No clean-up is possible; what is left must still be true, and the ring stale.
      if [[ -e /dev/shm/stash-demo-$pid ]]; then
        "$stash" ring info "stash-demo-$pid" >"$work/ring.out" || fail "round $round: ring info"
        grep -qF "writer_attached:  no" "$work/ring.out" || fail "round $round: a live writer?"
        "$stash" ring rm --stale "stash-demo-$pid" || fail "round $round: rm --stale: exit $?"
        [[ ! -e /dev/shm/stash-demo-$pid ]] || fail "round $round: rm --stale left the ring"
      fi ;;
    *) fail "round $round: SIG$sig: exit $code: $(<"$work/round$round.err")" ;;
  esac
  no_processes_left
  truthful "round$round" "$dir"
  pid=''
done
echo "demo_signals: all checks passed"
