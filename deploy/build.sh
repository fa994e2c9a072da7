#!/usr/bin/env bash
# Configures and builds the suite into build/ (or $CC_BUILD_DIR) with CMake and Ninja.
#   deploy/build.sh [ninja targets...]
set -euo pipefail
checkout=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${CC_BUILD_DIR:-$checkout/build}
if [[ ! -f $build_dir/build.ninja ]]; then
  cmake -S "$checkout" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
# Two jobs per core would swap on large generated gRPC files only with little memory; the
# machines here have 24 GiB, so one job per core plus one keeps both cores busy.
jobs=${CC_BUILD_JOBS:-$(($(nproc) + 1))}
echo "build: ninja -j$jobs in $build_dir" >&2
cmake --build "$build_dir" -j "$jobs" ${1:+--target "$@"}
