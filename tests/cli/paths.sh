#!/usr/bin/env bash
# Paths that are not plain files, from the shell: an output that is a symlink
# has the file it names replaced and the link kept; /dev/null and /dev/stdout
# are written into, never replaced; - is standard output and standard input;
# a FIFO given as input is refused at once with a message (timeout 10 turns a
# regression into a failure, not a hang); input past its cap says which cap.
set -uo pipefail
stash=$(realpath "$1") corpus=$(realpath "$2") parent=$3
mkdir -p "$parent"
work=$(mktemp -d "$parent/paths-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work" || exit 1
cp "$corpus/f8_2x3_F_v1.npy" a.npy
"$stash" store put dir:s k a.npy || fail "put exited $?"
"$stash" store put dir:s meta <(echo '{"rate": 1000}') 2>/dev/null \
  && fail "put from a pipe's /dev/fd name was taken as a file"

# Outputs: a symlink is followed, the link stays.
echo old > real.npy
ln -s real.npy link.npy
"$stash" store get dir:s k link.npy || fail "get to a symlink exited $?"
[[ -L link.npy && $(readlink link.npy) == real.npy ]] || fail "the symlink was replaced"
cmp -s real.npy a.npy || fail "the symlink's target does not hold the array"

# A device is written into, never replaced.
before=$(stat -c '%F %t:%T %i' /dev/null)
"$stash" store get dir:s k /dev/null || fail "get to /dev/null exited $?"
[[ $(stat -c '%F %t:%T %i' /dev/null) == "$before" ]] || fail "/dev/null changed: $(stat -c %F /dev/null)"

# - and /dev/stdout are standard output, whatever it is.
"$stash" store get dir:s k - > dash.npy || fail "get to - exited $?"
cmp -s dash.npy a.npy || fail "get to - wrote something else"
"$stash" store get dir:s k /dev/stdout | cat > piped.npy || fail "get to /dev/stdout exited $?"
cmp -s piped.npy a.npy || fail "get to /dev/stdout through a pipe wrote something else"
"$stash" nco pack - a.npy --meta '{"a": 1}' > packed.nco || fail "nco pack to - exited $?"
"$stash" nco ls packed.nco >/dev/null || fail "the NCO written to - does not list"
"$stash" nco unpack packed.nco - | cmp -s - a.npy || fail "nco unpack to - differs"
[[ $("$stash" nco unpack packed.nco /dev/null --meta-out -) == '{'*'"a": 1'*'}' ]] \
  || fail "nco unpack --meta-out - printed something else"
[[ ! -e /dev/null.idx ]] || fail "an index was written beside /dev/null"

# - is standard input.
"$stash" npy info - < a.npy | grep -q '^-: NPY 1.0, float64' || fail "npy info - did not describe"
"$stash" info - < a.npy | grep -q '^-: NPY 1.0' || fail "info - did not describe"
"$stash" store put dir:s from-stdin - < a.npy || fail "put from - exited $?"
"$stash" store get dir:s from-stdin - | cmp -s - a.npy || fail "the array put from - differs"
echo '{"rate": 1000}' | "$stash" store put dir:s json-stdin - || fail "put JSON from - exited $?"
[[ $("$stash" store get dir:s json-stdin -) == *'"rate": 1000'* ]] || fail "JSON from - differs"
echo '{"rate": 1000}' | "$stash" nco pack m.nco a.npy --meta @- || fail "--meta @- exited $?"

# A FIFO as input: refused at once, with a message.
mkfifo in.fifo
for args in "npy info in.fifo" "info in.fifo" "nco ls in.fifo" "nco pack x.nco a.npy --meta @in.fifo" \
  "store put dir:s k2 in.fifo" "store hash a.npy --meta @in.fifo" "nco pack x.nco in.fifo"; do
  # shellcheck disable=SC2086
  err=$(timeout 10 "$stash" $args 2>&1 >/dev/null); code=$?
  [[ $code == 1 ]] || fail "stash $args: exit $code (124: it hung)"
  [[ $err == *"in.fifo: not a regular file"* ]] || fail "stash $args said: $err"
done

# Input past its cap: says which.
err=$(timeout 60 "$stash" nco pack x.nco a.npy --meta @- < /dev/zero 2>&1); code=$?
[[ $code == 1 && $err == *"-: longer than the limit of 64 MiB"* ]] || fail "@- of /dev/zero: exit $code, '$err'"
truncate -s 65M big.json
err=$(timeout 60 "$stash" store put dir:s big big.json 2>&1); code=$?
[[ $code == 1 && $err == *"big.json: longer than the limit of 64 MiB"* ]] || fail "65 MiB JSON: exit $code, '$err'"
err=$(timeout 10 "$stash" nco pack x.nco a.npy --meta @/dev/zero 2>&1); code=$?
[[ $code == 1 && $err == *"/dev/zero: not a regular file"* ]] || fail "@/dev/zero: exit $code, '$err'"
[[ ! -e x.nco ]] || fail "a refused pack left x.nco"
echo ok
