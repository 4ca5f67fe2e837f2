#!/usr/bin/env bash
# A quick run (what CI runs) prints smoke figures and no verdicts: single
# passes on small inputs flip from run to run, so no row says "met" or
# "MISSED" and no target is counted. Its page still names the machine (CPU,
# cores, caches, kernel) and, under each table, the baseline.
set -uo pipefail
stash=$1 work=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"

out=$("$stash" bench memfile --quick --dir "$work" --out "$work/page.md" 2>&1); code=$?
[[ $code == 0 ]] || fail "exit $code: $out"
[[ $out == *"quick run: smoke figures, no verdicts"* ]] || fail "not marked as smoke figures: $out"
grep -qE '\| (met|MISSED) \|$' <<<"$out" && fail "a quick run gave a verdict: $out"
grep -q "targets met" <<<"$out" && fail "a quick run counted targets: $out"
grep -q '^| stash_memfile_pread 8 B (ratio: time / memcpy' <<<"$out" || fail "no figures: $out"

page=$(cat "$work/page.md")
grep -qE '\| (met|MISSED) \|$' <<<"$page" && fail "the page gave a verdict"
[[ $page == *"**Machine:**"*"CPUs online"*"Linux"* ]] || fail "the page does not name the machine"
[[ -r /sys/devices/system/cpu/cpu0/cache/index0/size && $page != *"caches of CPU 0: L1"* ]] \
  && fail "the page does not give the cache sizes"
[[ $page == *"Baseline: "* ]] || fail "no table names its baseline"
[[ $page == *"| part | time |"* ]] || fail "the summary of a quick run counts verdicts"
echo ok
