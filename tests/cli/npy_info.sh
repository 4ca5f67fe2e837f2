#!/usr/bin/env bash
# stash npy info: a good file gives one line and exit 0 (and JSON with --json);
# a bad file gives one line naming the problem on stderr and exit 1;
# bad usage exits 2.
set -uo pipefail
stash=$1 corpus=$2 work=$3
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$stash" npy info "$corpus/f8_2x3_F_v1.npy") || fail "good file exited $?"
[[ $out == *"NPY 1.0, float64, shape (2, 3), Fortran order, little-endian, 48 bytes of data at offset 128" ]] \
  || fail "unexpected line: $out"

out=$("$stash" npy info --json "$corpus/i4be_5_v2.npy") || fail "--json exited $?"
[[ $out == '{"format": "npy", "version": "2.0", "dtype": "int32", "descr": ">i4", "shape": [5], "order": "C", "byte_order": "big", "data_offset": 128, "data_bytes": 20}' ]] \
  || fail "unexpected JSON: $out"

head -c 100 "$corpus/f8_2x3_F_v1.npy" > "$work/short.npy"
err=$("$stash" npy info "$work/short.npy" 2>&1 >/dev/null); code=$?
[[ $code == 1 && $err == *"short.npy: data is shorter than its header says" ]] \
  || fail "truncated file: exit $code, '$err'"
[[ $(printf '%s\n' "$err" | wc -l) == 1 ]] || fail "more than one line: $err"

printf 'not numpy at all' > "$work/text.npy"
"$stash" npy info "$work/text.npy" 2>/dev/null; [[ $? == 1 ]] || fail "text file did not exit 1"
"$stash" npy info "$work/missing.npy" 2>/dev/null; [[ $? == 1 ]] || fail "missing file did not exit 1"
"$stash" npy 2>/dev/null; [[ $? == 2 ]] || fail "no arguments did not exit 2"
echo ok
