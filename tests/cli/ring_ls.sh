#!/usr/bin/env bash
# stash ring ls and rm --stale: a ring whose writer was SIGKILLed is listed as dead and
# stale and removed; one with a live reader is listed with it and kept, until the reader
# goes. "/NAME" is /dev/shm/NAME. read --wait started before the ring exists gets its
# samples once it is made, and SIGINT or SIGTERM while it waits says so and exits 130 or
# 143. rm --stale runs on named rings and on the scratch dir only, never on all of
# /dev/shm: other runs on this machine may have rings there between create and use.
set -euo pipefail
stash=$1 work=$2
py=/usr/bin/python3
id=stash-cli-ls-$$
dead=$id-dead live=$id-live slash=$id-slash late=$id-late
mkdir -p "$work"
rm -rf "${work:?}"/*
pids='' # background processes still running, for cleanup
cleanup() {
  exec 3>&- 2>/dev/null || true
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
  for ring in $dead $live $slash $late; do "$stash" ring rm "$ring" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# until SECONDS CMD...: runs CMD every 20 ms until it succeeds; the limit only catches a hang.
until_true() {
  local limit=$(($1 * 50))
  shift
  for ((i = 0; i < limit; i++)); do
    "$@" && return 0
    sleep 0.02
  done
  fail "still not true after ${limit} tries: $*"
}

# ls_check NAME-OR-DIR PYTHON-EXPRESSION: true for the `ls --json` list l (r: the row of $row).
ls_check() {
  "$stash" ring ls ${1:+"$1"} --json >"$work/ls.json" || return 1
  "$py" -c 'import json, sys
l = json.load(open(sys.argv[1]))
r = {x["name"]: x for x in l}.get(sys.argv[3])
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$work/ls.json" "$2" "${row:-}"
}

# has_inotify PID: the process has an inotify descriptor (stash_ring_attach_wait's watch).
has_inotify() {
  local fd
  for fd in /proc/"$1"/fd/*; do
    [[ $(readlink "$fd" 2>/dev/null) == *inotify* ]] && return 0
  done
  return 1
}

# ---- a killed writer's ring, and a ring with a live reader ------------------------------
"$stash" ring create "$dead" --channels 2 --capacity 1024 --dtype float32
"$stash" ring create "$live" --channels 1 --capacity 2048 --dtype int16
row=$dead ls_check "" 'r["writer"] == "none" and r["stale"]' || fail "a new ring: $(<"$work/ls.json")"
mkfifo "$work/fifo"
"$stash" ring write "$dead" <"$work/fifo" &
writer=$!
pids+=" $writer"
exec 3>"$work/fifo"
row=$dead until_true 60 ls_check "" 'r["writer"] == "alive"'
row=$dead ls_check "" "r['writer_pid'] == $writer and r['readers'] == 0 and not r['stale']" \
  || fail "a live writer: $(<"$work/ls.json")"
kill -9 "$writer"
wait "$writer" 2>/dev/null || true
exec 3>&-
"$stash" ring read "$live" --first 0 --end 1 --wait 600 >/dev/null 2>&1 &
reader=$!
pids+=" $reader"
row=$live until_true 60 ls_check "" 'r["readers"] == 1'

row=$dead ls_check "" "r['writer'] == 'dead' and r['writer_pid'] == $writer and r['readers'] == 0
  and r['stale'] and r['channels'] == 2 and r['dtype'] == 'float32'
  and r['capacity_samples'] == 1024 and r['mapping'] == 'mirrored'
  and r['object_bytes'] == 4096 + 8192 and 0 <= r['age_seconds'] < 3600" \
  || fail "the killed writer's ring: $(<"$work/ls.json")"
row=$live ls_check "" "r['writer'] == 'none' and r['readers'] == 1 and not r['stale']" \
  || fail "the read ring: $(<"$work/ls.json")"
row=/$live ls_check "/$live" 'len(l) == 1 and r["readers"] == 1' || fail "ls /NAME: $(<"$work/ls.json")"

"$stash" ring ls >"$work/ls.txt"
head -1 "$work/ls.txt" | grep -q '^NAME  *WRITER  *READERS  *CHANNELS x DTYPE x CAPACITY  *SIZE  *AGE$' \
  || fail "ls header: $(head -1 "$work/ls.txt")"
grep -Eq "^$dead +dead, pid $writer +0  2 x float32 x 1024 mirrored +12.0 KiB +[0-9a-z]+  stale$" \
  "$work/ls.txt" || fail "ls line for $dead: $(<"$work/ls.txt")"
grep -Eq "^$live +none yet +1  1 x int16 x 2048 mirrored +[0-9.]+ KiB +[0-9a-z]+$" "$work/ls.txt" \
  || fail "ls line for $live: $(<"$work/ls.txt")"

out=$("$stash" ring rm --stale "$live" 2>&1) && fail "rm --stale removed a ring being read: $out"
[[ $out == "stash ring: $live: not stale: 1 reader is attached" ]] || fail "rm --stale $live: $out"
[[ -e /dev/shm/$live ]] || fail "rm --stale removed /dev/shm/$live"
out=$("$stash" ring rm --stale "$dead") || fail "rm --stale $dead exited $?"
[[ $out == "removed $dead" && ! -e /dev/shm/$dead ]] || fail "rm --stale $dead: $out"
out=$("$stash" ring rm --stale "$dead" 2>&1) && fail "rm --stale of a removed ring: $out"
[[ $out == "stash ring: $dead: no such ring" ]] || fail "rm --stale again: $out"

kill -9 "$reader"
wait "$reader" 2>/dev/null || true
row=$live ls_check "" 'r["readers"] == 0 and r["stale"]' || fail "after the reader: $(<"$work/ls.json")"
[[ $("$stash" ring rm --stale "/$live") == "removed /$live" ]] || fail "rm --stale /$live"
[[ ! -e /dev/shm/$live ]] || fail "/dev/shm/$live is still there"

# ---- a directory: every stale ring in it goes, a used one stays -------------------------
for r in a b c; do "$stash" ring create "$work/$r.ring" --channels 1 --capacity 64 --dtype uint8; done
echo 'not a ring' >"$work/plain.txt"
"$stash" ring read "$work/b.ring" --first 0 --end 1 --wait 600 >/dev/null 2>&1 &
reader=$!
pids+=" $reader"
row=$work/b.ring until_true 60 ls_check "$work/" 'r["readers"] == 1'
ls_check "$work/" "sorted(r['name'] for r in l) == ['$work/a.ring', '$work/b.ring', '$work/c.ring']" \
  || fail "ls of the dir: $(<"$work/ls.json")"
out=$("$stash" ring rm --stale "$work/") || fail "rm --stale $work/ exited $?"
[[ $out == "removed $work/a.ring"$'\n'"removed $work/c.ring" ]] || fail "rm --stale dir: $out"
[[ -e $work/b.ring && -e $work/plain.txt && ! -e $work/a.ring && ! -e $work/c.ring ]] \
  || fail "after rm --stale $work/: $(ls "$work")"
kill -9 "$reader"
wait "$reader" 2>/dev/null || true
"$stash" ring rm "$work/b.ring"

# ---- "/NAME" is /dev/shm/NAME -------------------------------------------------------------
"$stash" ring create "/$slash" --channels 1 --capacity 64 --dtype uint8
[[ -f /dev/shm/$slash && ! -e /$slash ]] || fail "/$slash did not land in /dev/shm"
"$stash" ring info "$slash" >/dev/null || fail "info $slash exited $?"
"$stash" ring rm "/$slash"
[[ ! -e /dev/shm/$slash ]] || fail "rm /$slash left /dev/shm/$slash"

# ---- read --wait before the ring exists ---------------------------------------------------
"$stash" ring read "$late" --first 0 --end 2 --wait 600 >"$work/late.bin" 2>"$work/late.err" &
reader=$!
pids+=" $reader"
until_true 60 has_inotify "$reader"
"$stash" ring create "$late" --channels 1 --capacity 64 --dtype uint8
printf 'ab' | "$stash" ring write "$late"
code=0
wait "$reader" || code=$?
[[ $code == 0 && $(<"$work/late.bin") == ab ]] \
  || fail "read --wait before create: exit $code, $(<"$work/late.err")"
"$stash" ring rm "$late"

# ---- SIGINT and SIGTERM while read waits ----------------------------------------------------
# Job control on: a background job of a script ignores SIGINT otherwise, and stash leaves an
# ignored SIGINT ignored.
set -m
"$stash" ring read "$late" --first 0 --end 1 --wait 600 >/dev/null 2>"$work/int.err" &
reader=$!
pids+=" $reader"
until_true 60 has_inotify "$reader" # waiting for the ring to be created
kill -INT "$reader"
code=0
wait "$reader" || code=$?
[[ $code == 130 && $(<"$work/int.err") == "stash ring: $late: interrupted" ]] \
  || fail "SIGINT while waiting for the ring: exit $code, $(<"$work/int.err")"

"$stash" ring create "$late" --channels 1 --capacity 64 --dtype uint8
for case in "INT 130 interrupted" "TERM 143 terminated"; do
  read -r sig want word <<<"$case"
  "$stash" ring read "$late" --first 0 --end 1 --wait 600 >/dev/null 2>"$work/sig.err" &
  reader=$!
  pids+=" $reader"
  row=$late until_true 60 ls_check "" 'r["readers"] == 1' # waiting for the samples
  kill -"$sig" "$reader"
  code=0
  wait "$reader" || code=$?
  [[ $code == "$want" && $(<"$work/sig.err") == "stash ring: $late: $word" ]] \
    || fail "SIG$sig while waiting for samples: exit $code, $(<"$work/sig.err")"
done
set +m
"$stash" ring rm "$late"
echo ok
