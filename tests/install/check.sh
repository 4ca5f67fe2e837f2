#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds and runs a consumer
# program against it twice: with pkg-config and with find_package(stash).
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
# shellcheck disable=SC2046
"$cc" "${flags[@]}" "$consumer/consumer.c" -o "$work/consumer-pkgconfig" \
    $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs stash) -Wl,-rpath,"$lib_dir"
"$work/consumer-pkgconfig"

echo "== find_package"
cmake -S "$consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${flags[*]}" \
    -DCMAKE_BUILD_RPATH="$lib_dir" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"

echo "== installed program"
"$work/prefix/bin/stash" version
rm -rf "$work"
