#!/usr/bin/env bash
# stash ring: create, info (text and --json), write frames from stdin and read
# windows back byte for byte; overwritten and unwritten windows, --wait that
# times out, succeeds or sees the writer go; one writer at a time; bad usage
# exits 2; rm. File rings live in the scratch dir, one ring in /dev/shm.
set -euo pipefail
stash=$1 work=$2
py=/usr/bin/python3
shm=stash-cli-test-$$
mkdir -p "$work"
rm -f "$work"/*.ring "$work"/fifo "$work"/*.bin
writer='' reader='' # background jobs still running, for cleanup
cleanup() {
  exec 3>&- 2>/dev/null || true
  for pid in $writer $reader; do kill "$pid" 2>/dev/null || true; done
  "$stash" ring rm "$shm" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect CODE GLOB CMD...: CMD exits CODE and its stderr matches GLOB (one line for exit 1).
expect() {
  local want=$1 glob=$2 code=0
  shift 2
  "$@" >"$work/out" 2>"$work/err" || code=$?
  local err
  err=$(<"$work/err")
  [[ $code == "$want" ]] || fail "$*: exit $code, wanted $want: $err"
  [[ $err == $glob ]] || fail "$*: stderr '$err' does not match '$glob'"
  [[ $want != 1 || $(wc -l <"$work/err") == 1 ]] || fail "$*: more than one line: $err"
}

# frames FIRST END [CHANNELS]: samples FIRST..END-1 as little-endian float32, value k*10+c.
frames() {
  "$py" -c 'import struct, sys
a, b, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sys.stdout.buffer.write(b"".join(struct.pack("<%df" % n, *(k * 10.0 + c for c in range(n)))
                                 for k in range(a, b)))' "$1" "$2" "${3:-3}"
}

# json_check NAME PYTHON-EXPRESSION: the expression over the info object j is true.
json_check() {
  "$stash" ring info "$1" --json >"$work/info.json" || fail "$1: info --json exited $?"
  "$py" -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$work/info.json" "$2" \
    || fail "$1: not $2: $(<"$work/info.json")"
}

# ---- help -----------------------------------------------------------------------------
out=$("$stash" ring --help) || fail "ring --help exited $?"
[[ $out == "usage: stash ring create NAME"* && $out == *"stash ring rm --stale [DIR | NAME]"* ]] \
  || fail "help: $out"
for sub in create info write read ls rm; do
  [[ $("$stash" ring "$sub" --help) == "$out" ]] || fail "ring $sub --help differs"
done

# ---- create and info: a pocket ring (64 is not a multiple of the granule, 1024) --------
a=$work/a.ring
expect 0 "stash ring: $a: uses the pocket layout*multiples of 1024 samples, such as 1024, map mirrored" \
  "$stash" ring create "$a" --channels 3 --capacity 64 --dtype float32 --rate 1000 \
  --labels Fz,Cz,Pz --units uV,uV,uV
"$stash" ring info "$a" >"$work/info.txt"
for line in 'channels:         3' 'dtype:            float32' 'capacity_samples: 64' \
  'frame_bytes:      12' 'rate_hz:          1000' 'mapping:          pocket' \
  'written_samples:  0' 'writer_attached:  no' 'labels:           Fz,Cz,Pz' \
  'units:            uV,uV,uV'; do
  grep -qxF "$line" "$work/info.txt" || fail "info lacks '$line': $(<"$work/info.txt")"
done
json_check "$a" 'j["channels"] == 3 and j["dtype"] == "float32" and j["capacity_samples"] == 64
  and j["frame_bytes"] == 12 and j["rate_hz"] == 1000 and j["mapping"] == "pocket"
  and j["written_samples"] == 0 and j["readable_from"] == 0 and not j["writer_attached"]
  and j["writer_sessions"] == 0 and j["labels"] == ["Fz", "Cz", "Pz"] and j["units"] == ["uV"] * 3'
expect 1 "stash ring: $a: File exists" \
  "$stash" ring create "$a" --channels 3 --capacity 64 --dtype float32

# A multiple of the granule maps mirrored and says nothing.
expect 0 "" "$stash" ring create "$work/m.ring" --channels 3 --capacity 1024 --dtype float32
json_check "$work/m.ring" 'j["mapping"] == "mirrored" and j["labels"] == [""] * 3'

# ---- write, then read windows back -----------------------------------------------------
frames 0 100 >"$work/0-100.bin"
expect 0 "" "$stash" ring write "$a" <"$work/0-100.bin"
json_check "$a" 'j["written_samples"] == 100 and j["readable_from"] == 36
  and j["writer_sessions"] == 1 and not j["writer_attached"]'
"$stash" ring read "$a" --first 40 --end 100 >"$work/read.bin"
frames 40 100 | cmp - "$work/read.bin" || fail "window 40..99 (wrapped, pocket) differs"
frames 0 1500 | "$stash" ring write "$work/m.ring" || fail "write to m.ring exited $?"
"$stash" ring read "$work/m.ring" --first 1000 --end 1500 >"$work/read.bin"
frames 1000 1500 | cmp - "$work/read.bin" || fail "window 1000..1499 (wrapped, mirrored) differs"
"$stash" ring read "$a" --first 100 --end 100 >"$work/read.bin"
[[ ! -s $work/read.bin ]] || fail "an empty window gave bytes"

expect 1 "stash ring: $a: samples 0..9 were overwritten (the oldest readable is 36)" \
  "$stash" ring read "$a" --first 0 --end 10
expect 1 "stash ring: $a: samples up to 109 are not written yet (written: 100)" \
  "$stash" ring read "$a" --first 90 --end 110
expect 1 "stash ring: $a: the window 0..99 is 100 samples, more than the capacity of 64" \
  "$stash" ring read "$a" --first 0 --end 100
expect 1 "stash ring: $a: --first 50 is after --end 40" \
  "$stash" ring read "$a" --first 50 --end 40
[[ ! -s $work/out ]] || fail "a failed read wrote to stdout"

# A partial frame at EOF: the whole frames before it are put, the rest is an error.
{ frames 100 101; printf 'abcde'; } >"$work/partial.bin"
expect 1 "stash ring: $a: 5 bytes left over at the end of the input, not a whole frame of 12 bytes" \
  "$stash" ring write "$a" <"$work/partial.bin"
json_check "$a" 'j["written_samples"] == 101'

# ---- waiting -----------------------------------------------------------------------------
start=$(date +%s%N)
expect 1 "stash ring: $a: timed out waiting for sample 101 (written: 101; no writer is attached)" \
  "$stash" ring read "$a" --first 90 --end 102 --wait 0.3
(( ($(date +%s%N) - start) / 1000000 < 3000 )) || fail "--wait 0.3 took over 3 s"

{ sleep 0.3; frames 101 111; } | "$stash" ring write "$a" &
writer=$!
"$stash" ring read "$a" --first 101 --end 111 --wait 5 >"$work/read.bin" \
  || fail "read --wait 5 for a writer that writes exited $?"
frames 101 111 | cmp - "$work/read.bin" || fail "window 101..110 read after waiting differs"
wait "$writer" || fail "the background writer exited $?"
writer=''

# ---- one writer at a time, and a writer that goes while a reader waits ----------------
mkfifo "$work/fifo"
"$stash" ring write "$a" <"$work/fifo" &
writer=$!
exec 3>"$work/fifo"
for _ in $(seq 100); do
  "$stash" ring info "$a" | grep -qx 'writer_attached:  yes' && break
  sleep 0.05
done
json_check "$a" "j['writer_attached'] and j['writer_pid'] == $writer"
expect 1 "stash ring: $a: another writer is attached (pid $writer)" \
  "$stash" ring write "$a" </dev/null
# (3>&-: the reader must not hold the fifo open, or the writer never sees EOF)
"$stash" ring read "$a" --first 111 --end 112 --wait 5 >/dev/null 2>"$work/gone.err" 3>&- &
reader=$!
sleep 0.5 # for the reader to be waiting, having seen the writer
exec 3>&-
wait "$writer" || fail "the fifo writer exited $?"
writer=''
code=0
wait "$reader" || code=$?
reader=''
gone="stash ring: $a: the writer has gone before sample 111 was written (written: 111)"
[[ $code == 1 && $(<"$work/gone.err") == "$gone" ]] \
  || fail "reader of a writer that left: exit $code, $(<"$work/gone.err")"

# ---- bad usage exits 2 --------------------------------------------------------------------
expect 2 "*" "$stash" ring
expect 2 "*" "$stash" ring frobnicate "$a"
expect 2 "*needs a NAME*" "$stash" ring info
expect 2 "*takes one NAME*" "$stash" ring info "$a" "$a"
expect 2 "*unknown option --bogus*" "$stash" ring info "$a" --bogus
expect 2 "*takes no --json*" "$stash" ring read "$a" --first 0 --end 1 --json
expect 2 "*needs --end*" "$stash" ring read "$a" --first 0
expect 2 "*--first: '-1' is not a whole number*" "$stash" ring read "$a" --first -1 --end 1
expect 2 "*--end: '1x'*" "$stash" ring read "$a" --first 0 --end 1x
expect 2 "*--end: ' 5'*" "$stash" ring read "$a" --first 0 --end ' 5'
expect 2 "*--end: '99999999999999999999'*" "$stash" ring read "$a" --first 0 --end 99999999999999999999
expect 2 "*--wait*" "$stash" ring read "$a" --first 0 --end 1 --wait soon
expect 2 "*--end needs a value*" "$stash" ring read "$a" --first 0 --end
b=("$stash" ring create "$work/b.ring")
expect 2 "*needs --dtype*" "${b[@]}" --channels 2 --capacity 8
expect 2 "*--dtype: 'float128'*" "${b[@]}" --channels 2 --capacity 8 --dtype float128
expect 2 "*--channels: '0'*" "${b[@]}" --channels 0 --capacity 8 --dtype int8
expect 2 "*--labels: 3 names for 2 channels*" \
  "${b[@]}" --channels 2 --capacity 8 --dtype int8 --labels a,b,c
expect 2 "*--mode: '0999'*" "${b[@]}" --channels 2 --capacity 8 --dtype int8 --mode 0999
[[ ! -e $work/b.ring ]] || fail "a refused create made a ring"
expect 2 "*--mode: 0440 does not let the owner read and write*" \
  "${b[@]}" --channels 2 --capacity 8 --dtype int8 --mode 0440
expect 1 "stash ring: $work/b.ring: too large: 2 channels of int8 x 1000000000000 samples*" \
  "${b[@]}" --channels 2 --capacity 1000000000000 --dtype int8
expect 1 "stash ring: .hidden: not a ring name: a shared memory name does not start with '.'" \
  "$stash" ring info .hidden
expect 1 "stash ring: $work/: not a ring name: a file path names a file, so it does not end with '/'" \
  "$stash" ring rm "$work/"
expect 1 "stash ring: /a b: not a ring name: a shared memory name has only the characters [[]A-Za-z0-9._-[]]*" \
  "$stash" ring info "/a b"
expect 1 "stash ring: /: not a ring name: empty: a shared memory name has 1 to 200 characters*" \
  "$stash" ring create / --channels 1 --capacity 8 --dtype int8
expect 1 "stash ring: $work/no/such/dir.ring: no such directory to create the ring in" \
  "$stash" ring create "$work/no/such/dir.ring" --channels 1 --capacity 8 --dtype int8
expect 2 "*--first needs a value*" "$stash" ring read "$a" --first --end 1
expect 2 "*rm needs a NAME (or --stale)*" "$stash" ring rm
expect 2 "*takes no --stale*" "$stash" ring info "$a" --stale

# ---- a POSIX shared memory ring ---------------------------------------------------------
expect 0 "" "$stash" ring create "$shm" --channels 2 --capacity 2048 --dtype float32 --mode 0640
[[ $(stat -c %a "/dev/shm/$shm") == 640 ]] || fail "/dev/shm/$shm has mode $(stat -c %a "/dev/shm/$shm")"
json_check "$shm" 'j["mapping"] == "mirrored" and j["channels"] == 2'
frames 0 3000 2 | "$stash" ring write "$shm" || fail "write to $shm exited $?"
"$stash" ring read "$shm" --first 1000 --end 3000 >"$work/read.bin"
frames 1000 3000 2 | cmp - "$work/read.bin" || fail "shm window 1000..2999 differs"

# ---- rm --------------------------------------------------------------------------------------
echo precious >"$work/precious.txt"
expect 1 "stash ring: $work/precious.txt: *" "$stash" ring rm "$work/precious.txt"
[[ -e $work/precious.txt ]] || fail "rm removed a file that is not a ring"
for ring in "$shm" "$a" "$work/m.ring"; do
  expect 0 "" "$stash" ring rm "$ring"
  expect 1 "stash ring: $ring: no such ring" "$stash" ring info "$ring"
done
[[ ! -e /dev/shm/$shm ]] || fail "/dev/shm/$shm is still there"
expect 1 "stash ring: $shm: no such ring" "$stash" ring rm "$shm"
echo ok
