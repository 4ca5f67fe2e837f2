#!/usr/bin/env bash
# Every `stash store` command on a pickle: store (corelay's PickleStorage
# file), and `stash info` naming such a file: put (NPY and JSON), get, ls,
# rm, gc, and a read-only look that writes nothing.
set -uo pipefail
stash=$(realpath "$1") parent=$2
mkdir -p "$parent"
work=$(mktemp -d "$parent/store-pickle-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work" || exit 1
echo '{"a": 1, "b": [1, 2]}' > v.json
echo '[3, 4]' > w.json
/usr/bin/python3 -c 'import numpy as np; np.save("a.npy", np.arange(12.0).reshape(3, 4).T)' 2>/dev/null \
  || cp v.json a.json

"$stash" store put pickle:s.pkl v v.json || fail "put v exited $?"
"$stash" store put pickle:s.pkl test/w w.json || fail "put test/w exited $?"
"$stash" store put pickle:s.pkl v w.json || fail "put v again exited $?"
if [[ -e a.npy ]]; then
  "$stash" store put pickle:s.pkl arr a.npy || fail "put arr exited $?"
  "$stash" store get pickle:s.pkl arr back.npy || fail "get arr exited $?"
  cmp -s <(tail -c 96 a.npy) <(tail -c 96 back.npy) || fail "arr came back different"
fi
"$stash" store get pickle:s.pkl v back.json || fail "get v exited $?"
[[ $(tr -d ' \n' < back.json) == "[3,4]" ]] || fail "get v gave $(cat back.json)"
keys=$("$stash" store ls pickle:s.pkl | awk '{print $2}' | tr '\n' ' ')
[[ $keys == "arr test/w v " || $keys == "test/w v " ]] || fail "ls said: $keys"
json=$("$stash" store ls pickle:s.pkl --json) || fail "ls --json exited $?"
[[ $json == *'"backend": "pickle"'* ]] || fail "ls --json said: $json"

out=$("$stash" info s.pkl) || fail "info exited $?"
[[ $out == "s.pkl: pickle records as corelay's PickleStorage writes them, "* ]] \
  || fail "info said: $out"
json=$("$stash" info s.pkl --json) || fail "info --json exited $?"
[[ $json == '{"format": "pickle-store", "keys": '* ]] || fail "info --json said: $json"

"$stash" store rm pickle:s.pkl test/w || fail "rm exited $?"
"$stash" store get pickle:s.pkl test/w back.json 2>/dev/null && fail "a removed key was got"
size=$(stat -c %s s.pkl)
json=$("$stash" store gc pickle:s.pkl --max-bytes 1G --json) || fail "gc exited $?"
[[ $json == *'"evicted_entries": 0'* ]] || fail "gc said: $json"
(( $(stat -c %s s.pkl) < size )) || fail "gc left the superseded record"
"$stash" store get pickle:s.pkl v back.json || fail "get after gc exited $?"

# Reading makes no lock file and changes nothing.
rm -f s.pkl.lock
before=$(ls -la --time-style=full-iso)
"$stash" store ls pickle:s.pkl > /dev/null || fail "ls exited $?"
"$stash" info s.pkl > /dev/null || fail "info exited $?"
[[ $(ls -la --time-style=full-iso) == "$before" ]] || fail "reading changed the directory"

# A pickle that would run code is refused, and runs nothing.
/usr/bin/python3 - <<'PY' || fail "could not write the hostile file"
import os, pickle
class Evil:
    def __reduce__(self):
        return (os.system, ("touch MARK",))
with open("evil.pkl", "wb") as f:
    pickle.dump({"data": Evil(), "key": "evil"}, f)
PY
"$stash" store get pickle:evil.pkl evil out.json 2>err && fail "the hostile record was got"
grep -q "os.system\|code" err || grep -q "refused\|unsafe\|call" err || fail "stderr: $(cat err)"
[[ ! -e MARK ]] || fail "the hostile record ran"
echo "store_pickle: checked"
