#!/usr/bin/env bash
# Installs what is missing and builds partshift into build/ (Ninja, -j2: the machine has 2 cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build_dir=${PARTSHIFT_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build_dir" -j "${PARTSHIFT_BUILD_JOBS:-2}"
