#!/usr/bin/env bash
# Reading an NCO file never writes beside it: `stash info`, `stash nco ls`
# (text and JSON) and `stash nco unpack` leave the file's directory as it was,
# index or no index; only `stash nco pack` writes FILE.nco.stashidx. An empty
# file is not an NCO file: exit 1, one line, and still nothing written.
set -uo pipefail
stash=$1 corpus=$2 work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work/files" "$work/out"
files=$work/files

"$stash" nco pack "$files/a.nco" "$corpus/f8_2x3_F_v1.npy" --meta '{"n": 1}' || fail "pack exited $?"
"$stash" nco pack "$files/a.nco" "$corpus/f8_2x3_F_v1.npy" --append || fail "pack --append exited $?"
[[ -f $files/a.nco.stashidx ]] || fail "pack wrote no index"

# Every way of reading, with the index and without it.
snapshot() { (cd "$files" && find . -printf '%p %s %T@\n' | sort); }
read_all() {
  "$stash" info "$files/a.nco" >/dev/null || fail "info exited $?"
  "$stash" info "$files/a.nco" --json >/dev/null || fail "info --json exited $?"
  "$stash" nco ls "$files/a.nco" >/dev/null || fail "ls exited $?"
  "$stash" nco ls "$files/a.nco" --json >/dev/null || fail "ls --json exited $?"
  "$stash" nco unpack "$files/a.nco" "$work/out/b.npy" --index 1 \
    --meta-out "$work/out/b.json" || fail "unpack exited $?"
}
before=$(snapshot); read_all
[[ $(snapshot) == "$before" ]] || fail "reading changed the directory: $(snapshot)"
rm "$files/a.nco.stashidx"
before=$(snapshot); read_all
[[ $(snapshot) == "$before" ]] || fail "reading without an index wrote one: $(snapshot)"
out=$("$stash" nco ls "$files/a.nco") || fail "ls exited $?"
[[ $out == *"NCO, 2 objects, found by walking the chain"* ]] || fail "ls said: $out"

# An empty file is not an NCO file.
: > "$files/empty.nco"
before=$(snapshot)
err=$("$stash" nco ls "$files/empty.nco" 2>&1 >/dev/null); code=$?
[[ $code == 1 && $err == *"empty.nco: not an NCO file" ]] || fail "ls of an empty file: exit $code, '$err'"
[[ $(printf '%s\n' "$err" | wc -l) == 1 ]] || fail "more than one line: $err"
"$stash" info "$files/empty.nco" >/dev/null 2>&1; [[ $? == 1 ]] || fail "info of an empty file did not exit 1"
"$stash" nco unpack "$files/empty.nco" "$work/out/c.npy" 2>/dev/null; [[ $? == 1 ]] \
  || fail "unpack of an empty file did not exit 1"
[[ $(snapshot) == "$before" ]] || fail "reading an empty file changed the directory: $(snapshot)"
echo ok
