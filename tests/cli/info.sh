#!/usr/bin/env bash
# stash info knows HDF5 files (read as a store: keys and bytes) and rings
# (their geometry, attached as a reader), and looking writes nothing: the
# directory is the same before and after.
set -uo pipefail
stash=$(realpath "$1") parent=$2
mkdir -p "$parent"
work=$(mktemp -d "$parent/info-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work" || exit 1
echo '{"a": 1, "b": [1, 2]}' > v.json
"$stash" store put hdf5:s.h5 run/v v.json || fail "put exited $?"
"$stash" store put hdf5:s.h5 w v.json || fail "put exited $?"
rm s.h5.lock
"$stash" ring create ./r.ring --channels 2 --capacity 512 --dtype float32 --rate 250 \
  || fail "ring create exited $?"
before=$(ls -la --time-style=full-iso)

out=$("$stash" info s.h5) || fail "info s.h5 exited $?"
[[ $out == "s.h5: HDF5, 4 keys, "* ]] || fail "info s.h5 said: $out"
[[ $out != *"has not landed"* ]] || fail "info still says the HDF5 store has not landed"
json=$("$stash" info s.h5 --json) || fail "info s.h5 --json exited $?"
[[ $json == '{"format": "hdf5", "keys": 4, "bytes": '* ]] || fail "info --json said: $json"
out=$("$stash" info r.ring) || fail "info r.ring exited $?"
[[ $out == "r.ring: stash ring, 2 channels of float32, 512 samples kept, 250 Hz, 0 written"* ]] \
  || fail "info r.ring said: $out"
json=$("$stash" info r.ring --json) || fail "info r.ring --json exited $?"
[[ $json == '{"format": "ring", "channels": 2, "dtype": "float32", "capacity_samples": 512,'* ]] \
  || fail "info r.ring --json said: $json"
[[ $(ls -la --time-style=full-iso) == "$before" ]] || fail "looking changed the directory"
echo "info: checked"
