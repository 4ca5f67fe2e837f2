#!/usr/bin/env bash
# stash store and stash demo against a redis-server this script starts on a
# Unix socket (and kills by pid, however the script ends): put, get, ls, gc
# without --max-bytes, rm; a malformed redis URI and a server that is not
# there are refused with a clear message; a second demo run is served from
# the redis store.
set -uo pipefail
stash=$(realpath "$1") parent=$2
command -v redis-server >/dev/null || { echo "skipped: no redis-server"; exit 77; }
mkdir -p "$parent"
work=$(mktemp -d "$parent/store-redis-XXXXXX")
server=
cleanup() {
  [[ -n $server ]] && kill -CONT "$server" 2>/dev/null; [[ -n $server ]] && kill -KILL "$server" 2>/dev/null
  [[ -n $server ]] && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work" || exit 1
redis-server --port 0 --unixsocket "$work/redis.sock" --save '' --appendonly no --dir "$work" \
  --loglevel warning >/dev/null 2>&1 &
server=$!
for _ in $(seq 200); do
  "$stash" store ls "redis+unix://$work/redis.sock" >/dev/null 2>&1 && break
  sleep 0.05
done
uri="redis+unix://$work/redis.sock?prefix=cli:"

echo '{"a": [1, 2, 3]}' > v.json
"$stash" store put "$uri" run/v v.json || fail "put exited $?"
out=$("$stash" store get "$uri" run/v -) || fail "get exited $?"
[[ $(tr -d ' \n' <<<"$out") == '{"a":[1,2,3]}' ]] || fail "get gave: $out"
out=$("$stash" store ls "$uri") || fail "ls exited $?"
[[ $out == *" run/v" ]] || fail "ls said: $out"
json=$("$stash" store gc "$uri" --json) || fail "gc without --max-bytes exited $?"
[[ $json == '{"entries": 1, "bytes": '* ]] || fail "gc said: $json"
"$stash" store rm "$uri" run/v || fail "rm exited $?"
out=$("$stash" store ls "$uri") || fail "ls exited $?"
[[ -z $out ]] || fail "ls after rm said: $out"

err=$("$stash" store ls "redis://localhost?nope=1" 2>&1) && fail "a bad parameter was accepted"
[[ $err == *"not a redis URI"* ]] || fail "a bad parameter said: $err"
err=$("$stash" store ls "redis+unix://$work/nobody.sock" 2>&1) && fail "no server, yet ls worked"
[[ $err == *"down, paused or unreachable"* ]] || fail "no server said: $err"

small=(--samples 30000 --channels 12 --workers 3 --store "$uri")
"$stash" demo --dir d1 "${small[@]}" > first.out 2>&1 || fail "demo exited $?: $(<first.out)"
"$stash" demo --dir d2 "${small[@]}" > second.out 2>&1 || fail "demo exited $?: $(<second.out)"
grep -qE '` [1-9][0-9]* hits, 0 computed' second.out || fail "second demo: $(<second.out)"
echo "store redis: checked"
