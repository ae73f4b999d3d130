#!/usr/bin/env bash
# Installs what is missing and builds partshift into build/ (Ninja, -j2: the machine has 2 cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build_dir=${PARTSHIFT_BUILD_DIR:-$root/build}
# ccache: paths relative to the checkout and the precompiled header's sloppiness, so a fresh
# clone elsewhere (CI) hits what an earlier build of the same sources cached.
export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build_dir" -j "${PARTSHIFT_BUILD_JOBS:-2}"
