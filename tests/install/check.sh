#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs a consumer
# program against it twice: with pkg-config and with find_package(stash).
# Neither run sets LD_LIBRARY_PATH: the installed flags alone must do.
# usage: check.sh BUILD_DIR CONSUMER_DIR WORK_DIR C_COMPILER [SANITIZERS]
set -euo pipefail
build=$1 consumer=$2 work=$3 cc=$4 sanitize=${5:-}
flags=()
[ -n "$sanitize" ] && flags=(-fsanitize="$sanitize")

rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
pc_dir=$(dirname "$(find "$work/prefix" -name stash.pc | head -n 1)")
lib_dir=$(dirname "$pc_dir")

echo "== pkg-config"
# Built with nothing but pkg-config's flags, and run without LD_LIBRARY_PATH:
# the .pc's rpath must lead the loader to the installed libstash.so.
# shellcheck disable=SC2046
"$cc" "${flags[@]}" "$consumer/consumer.c" -o "$work/consumer-pkgconfig" \
    $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs stash)
env -u LD_LIBRARY_PATH "$work/consumer-pkgconfig"
loaded=$(env -u LD_LIBRARY_PATH ldd "$work/consumer-pkgconfig" | awk '/libstash\.so/ {print $3}')
[[ $(realpath "$loaded") == $(realpath "$lib_dir")/* ]] ||
    { echo "FAIL: the consumer loads libstash.so from '$loaded', not $lib_dir" >&2; exit 1; }

echo "== find_package"
cmake -S "$consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${flags[*]}" >/dev/null
cmake --build "$work/cmake" >/dev/null
env -u LD_LIBRARY_PATH "$work/cmake/consumer"

echo "== installed program"
"$work/prefix/bin/stash" version

# The Python package lands in the prefix's site directory (when it is built),
# and the installed program finds its benchmarks and the package there.
site=$(find "$work/prefix" -path '*-packages/stash' -type d | head -n 1)
if [ -n "$site" ] && [ -z "$sanitize" ]; then
    echo "== installed Python package"
    PYTHONPATH=$(dirname "$site") /usr/bin/python3 -c \
        'import stash, numpy; m = stash._stash; print("stash", stash.__version__, "from", stash.__file__)'
    [ -f "$work/prefix/share/stash/python-bench/run.py" ] ||
        { echo "FAIL: the Python benchmarks are not installed" >&2; exit 1; }
fi
rm -rf "$work"
