#!/usr/bin/env bash
# What the program says about mistakes: a mistyped store URI is refused with
# the known schemes and creates nothing; an unknown option is "unknown option
# --bogus"; a usage error names the argument at fault and exits 2; --json is
# taken by every command that reports and refused by name elsewhere; a bad
# store key states the rule; a put whose input is missing creates no store.
set -uo pipefail
stash=$(realpath "$1") parent=$2
mkdir -p "$parent"
work=$(mktemp -d "$parent/usage-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work" || exit 1
echo '{"a": 1}' > v.json

# expect CODE TEXT ARGS...: exit status CODE and TEXT in stderr.
expect() {
  local want=$1 text=$2 code=0
  shift 2
  "$stash" "$@" >"$work/out" 2>"$work/err" || code=$?
  [[ $code == "$want" ]] || fail "stash $*: exit $code, not $want ($(cat "$work/err"))"
  grep -qF -- "$text" "$work/err" || fail "stash $*: stderr lacks '$text': $(cat "$work/err")"
}

mkdir typos && cd typos || exit 1
for uri in hdf:x.h5 h5:x.h5 DIR:x file:x ' dir:x' HDF5:x.h5 a:b; do
  expect 1 "the schemes are none:, dir:, hdf5:, pickle:" store put "$uri" k ../v.json
  expect 1 "not a store URI" store ls "$uri"
done
expect 1 "hdf5:: the scheme needs a path after it" store ls hdf5:
expect 1 "pickle:: the scheme needs a path after it" store ls pickle:
expect 1 "none:x: none: names nothing" store ls none:x
[[ -z $(ls -A) ]] || fail "mistyped URIs created: $(ls -A)"
"$stash" store put ./a:b k ../v.json || fail "./a:b was refused"
"$stash" store put dir:c:d k ../v.json || fail "dir:c:d was refused"
cd .. || exit 1

expect 2 "unknown option --bogus" store ls dir:s --bogus
expect 2 "unknown option --bogus" info v.json --bogus
expect 2 "unknown option --bogus" npy info v.json --bogus
expect 2 "unknown option --bogus" nco ls v.json --bogus
expect 2 "unknown option --bogus" nco pack o.nco a.npy --bogus
expect 2 "unknown option --bogus" version --bogus
expect 2 "unknown option --bogus" bench --bogus
expect 2 "IN is missing" store put dir:s k
expect 2 "one argument too many: 'extra'" store rm dir:s k extra
expect 2 "--meta needs a value" store hash v.json --meta
expect 2 "--max-bytes N is missing" store gc dir:s
expect 2 "'12Q' is not a size" store gc dir:s --max-bytes 12Q
expect 2 "unknown verb 'frob'" store frob
expect 2 "--index: 'x' is not an object number" nco unpack a.nco b.npy --index x
[[ ! -e s ]] || fail "a usage error created the store"

# --json: every command that reports takes it; the others refuse it by name.
"$stash" store put dir:s k v.json || fail "put exited $?"
for args in "store ls dir:s" "store gc dir:s --max-bytes 1M" "store hash v.json" \
  "version" "info s/k.nco" "nco ls s/k.nco"; do
  # shellcheck disable=SC2086
  out=$("$stash" $args --json) || fail "$args --json exited $?"
  python3 -c 'import json, sys; json.loads(sys.argv[1])' "$out" \
    || fail "$args --json printed: $out"
done
expect 2 "--json is not an option of put" store put dir:s k v.json --json
expect 2 "--json is not an option of get" store get dir:s k o.json --json
expect 2 "--json is not an option of rm" store rm dir:s k --json
expect 2 "--json is not an option of pack" nco pack o.nco a.npy --json
expect 2 "--json is not an option of unpack" nco unpack a.nco o.npy --json
expect 2 "--json is not an option of bench" bench --json

# Keys: the rule that was broken.
expect 1 "are not '.' or '..'" store put dir:s ../x v.json
expect 1 "not empty" store get dir:s a//b o.json
[[ ! -e o.json ]] || fail "a refused get wrote its output"

# A missing input creates no store.
expect 1 "missing.npy: No such file or directory" store put dir:new k missing.npy
expect 1 "missing.npy: No such file or directory" store put hdf5:new.h5 k missing.npy
[[ ! -e new && ! -e new.h5 ]] || fail "a put of a missing input created a store"
# An NPY element type stash does not read is named as the file spells it.
npy() { # npy FILE DESCR SHAPE DATA_BYTES: an NPY 1.0 file, header as NumPy pads it
  python3 -c 'import sys, struct
h = "{\x27descr\x27: %s, \x27fortran_order\x27: False, \x27shape\x27: %s, }" % (sys.argv[2], sys.argv[3])
h += " " * (63 - (10 + len(h)) % 64) + "\n"
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + bytes(int(sys.argv[4])))' "$@"
}
npy f8.npy "'<f8'" "(2,)" 16
npy u2.npy "'<U2'" "(1,)" 8
npy rec.npy "[('a', '<i4')]" "(2,)" 8
expect 1 "element type '<U2' is not one stash reads" npy info u2.npy
expect 1 "element type '<U2' is not one stash reads" store put dir:s u u2.npy
expect 1 "element type [('a', '<i4')] is not one stash reads" nco pack o.nco rec.npy

# nco: metadata with an array is explained; a --meta-out that cannot be
# written writes nothing at all.
"$stash" store put dir:s2 k f8.npy && "$stash" store get dir:s2 k arr.json || fail "array as JSON"
expect 1 "metadata holds no arrays" nco pack o.nco f8.npy --meta "{\"w\": $(cat arr.json)}"
[[ ! -e o.nco ]] || fail "a refused pack wrote o.nco"
"$stash" nco pack o.nco f8.npy --meta '{"w": [1, 2]}' || fail "pack exited $?"
expect 1 "no/m.json: cannot write the metadata: No such file or directory" \
  nco unpack o.nco out.npy --meta-out no/m.json
[[ ! -e out.npy ]] || fail "unpack wrote the array though the metadata could not be written"

# nco pack --append says it drops garbage at the end of the file.
printf 'garbage!' >> o.nco
expect 0 "dropping the 8 bytes after the last object" nco pack o.nco f8.npy --append
[[ $("$stash" nco ls o.nco) == "o.nco: NCO, 2 objects"* ]] || fail "the append was not made"

# hdf5: a directory is said to be one, and gets no lock file beside it.
mkdir h.h5
expect 1 "hdf5:h.h5: Is a directory" store put hdf5:h.h5 k v.json
[[ ! -e h.h5.lock ]] || fail "hdf5: made a lock file beside a directory"
echo "usage: checked"
