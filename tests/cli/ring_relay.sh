#!/usr/bin/env bash
# stash ring publish / subscribe: a ring followed by another process over ZeroMQ,
# on ipc:// in the scratch dir and on a free tcp://127.0.0.1 port. Samples equal by
# absolute number; SIGINT and SIGTERM stop a relay, which prints its stats as JSON;
# the publisher's writer gone ends both; bad usage exits 2. Every process started
# here is stopped on the way out, failed or not.
set -euo pipefail
# Job control on: a background job of a script ignores SIGINT otherwise, and stash leaves an
# ignored SIGINT ignored.
set -m
stash=$1 work=$2
py=/usr/bin/python3
mkdir -p "$work"
rm -rf "$work"/*
# ipc:// sockets in a short directory: a socket's path holds at most 107 bytes.
sockets=$(mktemp -d /tmp/stash-relay.XXXXXX)
pids=() # background processes still running, for cleanup
cleanup() {
  exec 3>&- 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$sockets"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect CODE GLOB CMD...: CMD exits CODE and its stderr matches GLOB.
expect() {
  local want=$1 glob=$2 code=0
  shift 2
  "$@" >"$work/out" 2>"$work/err" || code=$?
  local err
  err=$(<"$work/err")
  [[ $code == "$want" ]] || fail "$*: exit $code, wanted $want: $err"
  [[ $err == $glob ]] || fail "$*: stderr '$err' does not match '$glob'"
}

# frames FIRST END: samples FIRST..END-1 of 4 channels as little-endian float32, k*10+c.
frames() {
  "$py" -c 'import struct, sys
a, b = int(sys.argv[1]), int(sys.argv[2])
sys.stdout.buffer.write(b"".join(struct.pack("<4f", *(k * 10.0 + c for c in range(4)))
                                 for k in range(a, b)))' "$1" "$2"
}

# json_check FILE PYTHON-EXPRESSION: the expression over the JSON object j in FILE is true.
json_check() {
  "$py" -c 'import json, sys
j = json.loads(open(sys.argv[1]).read())
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2" || fail "$1: not $2: $(<"$1")"
}

# until_true SECONDS CMD...: retries CMD every 50 ms until it succeeds or time is up.
until_true() {
  local tries=$(($1 * 20))
  shift
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}

# A free loopback port, as the kernel hands one out (released before use: a race nobody wins
# in a test that binds it within milliseconds).
free_port() {
  "$py" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ---- help and usage -------------------------------------------------------------------
out=$("$stash" ring --help) || fail "ring --help exited $?"
[[ $out == *"stash ring publish NAME ENDPOINT"* && $out == *"stash ring subscribe ENDPOINT NAME"* ]] \
  || fail "help lacks publish and subscribe: $out"
expect 2 "*publish needs NAME ENDPOINT*" "$stash" ring publish "$work/a.ring"
expect 2 "*subscribe needs ENDPOINT NAME*" "$stash" ring subscribe ipc://x
expect 2 "*publish takes NAME ENDPOINT, not also 'z'*" "$stash" ring publish a ipc://x z
expect 2 "*--mode: 'fanout' is neither pubsub nor pushpull*" \
  "$stash" ring publish a ipc://x --mode fanout
expect 2 "*--chunk: '0'*" "$stash" ring publish a ipc://x --chunk 0
expect 2 "*publish takes no --capacity*" "$stash" ring publish a ipc://x --capacity 8
expect 2 "*subscribe takes no --chunk*" "$stash" ring subscribe ipc://x a --chunk 8
expect 2 "*--timeout: 'soon'*" "$stash" ring subscribe ipc://x a --timeout soon
expect 2 "*--curve-server-key: not a Z85 public key of 40 characters*" \
  "$stash" ring subscribe ipc://x a --curve-server-key short
expect 2 "*STASH_RELAY_SECRET_KEY: not a Z85 key of 40 characters*" \
  env STASH_RELAY_SECRET_KEY=short "$stash" ring publish a ipc://x
echo short >"$work/bad.key"
expect 1 "stash ring: $work/bad.key: not a Z85 key of 40 characters on one line" \
  "$stash" ring publish a ipc://x --curve-secret-key-file "$work/bad.key"
expect 1 "stash ring: $work/none.ring: no such ring" \
  "$stash" ring publish "$work/none.ring" "ipc://$sockets/none.sock"
# Nobody publishes there: no metadata within the timeout, and no ring made.
expect 1 "stash ring: ipc://$sockets/nobody.sock: no publisher's metadata within 0.3 s" \
  "$stash" ring subscribe "ipc://$sockets/nobody.sock" "$work/nobody.ring" --timeout 0.3
[[ ! -e $work/nobody.ring ]] || fail "a subscriber without a publisher made its ring"
expect 1 "stash ring: bad name: not a ring name: *" \
  "$stash" ring subscribe "ipc://$sockets/nobody.sock" "bad name" --timeout 600

# relay_pair MODE ENDPOINT [SUBSCRIBER-OPTIONS...]: publisher of a.ring (with the options in
# pub_extra) and subscriber into b.ring (pids P and S), with a writer on a.ring held open
# through fd 3 (pid W). The subscriber's ring exists on return.
pub_extra=()
relay_pair() {
  local mode=$1 endpoint=$2
  shift 2
  rm -f "$work"/a.ring "$work"/b.ring "$work"/fifo
  "$stash" ring create "$work/a.ring" --channels 4 --capacity 4096 --dtype float32 --rate 500 \
    --labels Fz,Cz,Pz,Oz --units uV,uV,uV,uV || fail "create a.ring exited $?"
  mkfifo "$work/fifo"
  "$stash" ring write "$work/a.ring" <"$work/fifo" &
  W=$!
  pids+=("$W")
  exec 3>"$work/fifo"
  until_true 5 sh -c "'$stash' ring info '$work/a.ring' | grep -qx 'writer_attached:  yes'" \
    || fail "the writer of a.ring did not attach"
  "$stash" ring publish "$work/a.ring" "$endpoint" --mode "$mode" --chunk 64 "${pub_extra[@]}" \
    >"$work/pub.json" 2>"$work/pub.err" 3>&- &
  P=$!
  pids+=("$P")
  "$stash" ring subscribe "$endpoint" "$work/b.ring" --mode "$mode" --timeout 5 "$@" \
    >"$work/sub.json" 2>"$work/sub.err" 3>&- &
  S=$!
  pids+=("$S")
  until_true 10 "$stash" ring info "$work/b.ring" \
    || fail "$mode: the subscriber made no ring: $(<"$work/sub.err")"
}

# ---- samples equal by number; the writer gone ends the publisher, its goodbye the subscriber
relay_pair pubsub "ipc://$sockets/relay.sock"
"$stash" ring info "$work/b.ring" --json >"$work/b.json"
json_check "$work/b.json" 'j["channels"] == 4 and j["dtype"] == "float32" and j["rate_hz"] == 500
  and j["capacity_samples"] == 4096 and j["labels"] == ["Fz", "Cz", "Pz", "Oz"]
  and j["units"] == ["uV"] * 4 and j["writer_attached"]'
frames 0 3000 >&3
"$stash" ring read "$work/b.ring" --first 0 --end 3000 --wait 10 >"$work/b.bin" \
  || fail "pubsub: samples 0..2999 did not arrive: $(<"$work/sub.err")"
frames 0 3000 | cmp - "$work/b.bin" || fail "pubsub: samples 0..2999 differ"
exec 3>&-
wait "$W" || fail "the fifo writer exited $?"
code=0
wait "$P" || code=$?
[[ $code == 0 ]] || fail "publisher after its writer left: exit $code: $(<"$work/pub.err")"
grep -q "the source has gone" "$work/pub.err" || fail "publisher: $(<"$work/pub.err")"
json_check "$work/pub.json" 'j["end"] == "source gone" and j["samples"] == 3000
  and j["next_sample"] == 3000 and j["gaps"] == 0 and j["messages"] >= 3000 // 64'
code=0
wait "$S" || code=$?
[[ $code == 0 ]] || fail "subscriber after goodbye: exit $code: $(<"$work/sub.err")"
json_check "$work/sub.json" 'j["end"] == "source gone" and j["samples"] == 3000
  and j["next_sample"] == 3000 and j["gaps"] == 0 and j["rejected"] == 0
  and j["bytes"] == 3000 * 16'
pids=()

# ---- PUSH/PULL over tcp on a free port; SIGINT stops the subscriber, SIGTERM the publisher
port=$(free_port)
relay_pair pushpull "tcp://127.0.0.1:$port" --capacity 8192
"$stash" ring info "$work/b.ring" --json >"$work/b.json"
json_check "$work/b.json" 'j["capacity_samples"] == 8192 and j["channels"] == 4'
# More than the capacity in two puts (one put of more would overwrite its own start before
# anyone could read it): the publisher keeps up, and the copy wraps like any ring.
frames 0 2500 >&3
"$stash" ring read "$work/b.ring" --first 2499 --end 2500 --wait 10 >/dev/null \
  || fail "pushpull: sample 2499 did not arrive: $(<"$work/sub.err")"
frames 2500 5000 >&3
"$stash" ring read "$work/b.ring" --first 1000 --end 5000 --wait 10 >"$work/b.bin" \
  || fail "pushpull: samples 1000..4999 did not arrive: $(<"$work/sub.err")"
frames 1000 5000 | cmp - "$work/b.bin" || fail "pushpull: samples 1000..4999 differ"
kill -INT "$S"
code=0
wait "$S" || code=$?
[[ $code == 0 ]] || fail "subscriber after SIGINT: exit $code: $(<"$work/sub.err")"
json_check "$work/sub.json" 'j["end"] == "stopped" and j["samples"] == 5000 and j["gaps"] == 0'
kill -TERM "$P"
code=0
wait "$P" || code=$?
[[ $code == 0 ]] || fail "publisher after SIGTERM: exit $code: $(<"$work/pub.err")"
json_check "$work/pub.json" 'j["end"] == "stopped"'
exec 3>&-
wait "$W" || fail "the fifo writer exited $?"
pids=()
# ---- PUB past its high-water mark: a stopped subscriber loses messages, and says so ---------
pub_extra=(--hwm 100) # 100 messages of 64 samples: room for a burst of 1000 samples
relay_pair pubsub "ipc://$sockets/hwm.sock" --timeout 60
pub_extra=()
frames 0 1000 >&3
"$stash" ring read "$work/b.ring" --first 0 --end 1000 --wait 10 >/dev/null \
  || fail "hwm: samples 0..999 did not arrive: $(<"$work/sub.err")"
kill -STOP "$S"
# 1.6 MB while it cannot read: far more than the socket buffers (some 200 KiB) and 100
# queued messages of 1 KiB hold.
# (Through the fifo each put is at most 64 KiB, 4096 samples: never more than the capacity.)
frames 1000 101000 >&3
"$stash" ring read "$work/a.ring" --first 100999 --end 101000 --wait 10 >/dev/null \
  || fail "hwm: the source did not get its samples"
kill -CONT "$S"
frames 101000 102000 >&3 # after the gap: whole
"$stash" ring read "$work/b.ring" --first 101000 --end 102000 --wait 10 >"$work/b.bin" \
  || fail "hwm: samples 101000..101999 did not arrive after SIGCONT: $(<"$work/sub.err")"
frames 101000 102000 | cmp - "$work/b.bin" || fail "hwm: samples 101000..101999 differ"
kill -INT "$S"
wait "$S" || fail "hwm: the subscriber exited $?: $(<"$work/sub.err")"
json_check "$work/sub.json" 'j["end"] == "stopped" and j["gaps"] >= 1 and j["samples_lost"] >= 1
  and j["samples"] + j["samples_lost"] == 102000 and j["next_sample"] == 102000
  and j["rejected"] == 0'
exec 3>&-
wait "$W" || fail "the fifo writer exited $?"
wait "$P" || fail "hwm: the publisher exited $?: $(<"$work/pub.err")"
json_check "$work/pub.json" 'j["end"] == "source gone" and j["next_sample"] == 102000'
pids=()

# ---- CURVE: the secret key from a file or the environment, the public one on the command line
if ! "$py" -c 'import zmq, sys; sys.exit(not zmq.has("curve"))'; then
  echo "ring_relay: ok (this libzmq has no CURVE: its part is skipped)"
  exit 0
fi
read -r public secret < <("$py" -c 'import zmq; print(*(k.decode() for k in zmq.curve_keypair()))')
printf '%s\n' "$secret" >"$work/server.key"
chmod 600 "$work/server.key"
for how in file env; do
  rm -f "$work"/a.ring "$work"/b.ring
  "$stash" ring create "$work/a.ring" --channels 4 --capacity 4096 --dtype float32
  "$stash" ring write "$work/a.ring" <"$work/fifo" &
  W=$!
  pids+=("$W")
  exec 3>"$work/fifo"
  until_true 5 sh -c "'$stash' ring info '$work/a.ring' | grep -qx 'writer_attached:  yes'" \
    || fail "the writer of a.ring did not attach"
  if [[ $how == file ]]; then
    "$stash" ring publish "$work/a.ring" "ipc://$sockets/curve.sock" --mode pushpull \
      --curve-secret-key-file "$work/server.key" >"$work/pub.json" 2>"$work/pub.err" 3>&- &
  else
    STASH_RELAY_SECRET_KEY=$secret "$stash" ring publish "$work/a.ring" \
      "ipc://$sockets/curve.sock" --mode pushpull >"$work/pub.json" 2>"$work/pub.err" 3>&- &
  fi
  P=$!
  pids+=("$P")
  # Without the server's key the handshake fails: no metadata, no ring.
  expect 1 "stash ring: ipc://$sockets/curve.sock: no publisher's metadata within 0.5 s" \
    "$stash" ring subscribe "ipc://$sockets/curve.sock" "$work/b.ring" --mode pushpull \
    --timeout 0.5 3>&-
  "$stash" ring subscribe "ipc://$sockets/curve.sock" "$work/b.ring" --mode pushpull \
    --timeout 5 --curve-server-key "$public" >"$work/sub.json" 2>"$work/sub.err" 3>&- &
  S=$!
  pids+=("$S")
  until_true 10 "$stash" ring info "$work/b.ring" \
    || fail "curve ($how): the subscriber made no ring: $(<"$work/sub.err")"
  frames 0 1000 >&3
  "$stash" ring read "$work/b.ring" --first 0 --end 1000 --wait 10 >"$work/b.bin" \
    || fail "curve ($how): samples 0..999 did not arrive: $(<"$work/sub.err")"
  frames 0 1000 | cmp - "$work/b.bin" || fail "curve ($how): samples 0..999 differ"
  exec 3>&-
  wait "$W" || fail "the fifo writer exited $?"
  wait "$P" || fail "curve ($how): the publisher exited $?: $(<"$work/pub.err")"
  wait "$S" || fail "curve ($how): the subscriber exited $?: $(<"$work/sub.err")"
  json_check "$work/sub.json" 'j["end"] == "source gone" and j["samples"] == 1000'
  pids=()
done
echo "ring_relay: ok"
