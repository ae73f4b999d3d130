#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, starts a throwaway PostgreSQL 15,
# runs every test (unit and integration) with ctest, and tears the server down.
#   scripts/test.sh                 all tests
#   scripts/test.sh -L unit         only the unit tests (any ctest arguments pass through)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
build_dir=${PARTSHIFT_BUILD_DIR:-$root/build}
exec "$root/scripts/pg-sandbox.sh" run -- \
  ctest --test-dir "$build_dir" --output-on-failure --timeout 900 -j "${PARTSHIFT_TEST_JOBS:-2}" "$@"
