#!/usr/bin/env bash
# Installs the Python package offline into a virtual environment that sees
# Debian's NumPy, as docs/python.md tells users to, from a copy of the source
# tree (pip builds in place), and imports it from outside the tree.
# usage: pip.sh SOURCE_DIR WORK_DIR
set -euo pipefail
source=$1 work=$2
rm -rf "$work"
mkdir -p "$work/src"
tar -C "$source" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$work/src" -xf -
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --quiet --no-build-isolation --no-index "$work/src"
cd "$work"
"$work/venv/bin/python" -c '
import numpy, stash
assert stash.__file__.startswith("'"$work"'/venv"), stash.__file__
back = stash._stash._value_roundtrip({"a": numpy.arange(3)})
assert back["a"].tolist() == [0, 1, 2]
print("pip-installed stash", stash.__version__)
'
rm -rf "$work"
