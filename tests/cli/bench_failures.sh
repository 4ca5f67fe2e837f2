#!/usr/bin/env bash
# A benchmark that cannot run is an error, never a row of NaNs: a missing
# scratch directory stops `stash bench` before any part runs, and a part
# whose setup fails (here: files cannot be created in /proc) says why on
# stderr; either way the command exits 1 - not a crash - prints no "nan",
# and writes no report page.
set -uo pipefail
stash=$1 work=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"

out=$("$stash" bench --quick --dir /nonexistent/x 2>&1); code=$?
[[ $code == 1 ]] || fail "--dir /nonexistent/x: exit $code (want 1): $out"
[[ $out == *"--dir /nonexistent/x: No such file or directory"* ]] || fail "no reason given: $out"
grep -qi nan <<<"$out" && fail "nan printed: $out"

[[ -d /proc/self ]] || { echo "ok (no /proc: the part-level case is skipped)"; exit 0; }
out=$("$stash" bench nco store --quick --dir /proc --out "$work/page.md" 2>&1); code=$?
[[ $code == 1 ]] || fail "--dir /proc: exit $code (want 1): $out"
[[ $out == *"stash bench: /proc/stash-bench-array.npy: No such file or directory"* ]] \
  || fail "the nco part gave no reason: $out"
[[ $out == *"stash bench: /proc/stash-bench-store-"*": No such file or directory"* ]] \
  || fail "the store part gave no reason: $out"
grep -qi nan <<<"$out" && fail "nan printed: $out"
[[ -e $work/page.md ]] && fail "a report was written despite the failures"
echo ok
