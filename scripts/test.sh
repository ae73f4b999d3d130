#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, starts a throwaway PostgreSQL
# (15, the host's, unless --pg says otherwise), runs every test (unit and integration) with
# ctest, and tears the server down.
#   scripts/test.sh                 all tests on PostgreSQL 15
#   scripts/test.sh --pg 17         all tests on PostgreSQL 17 (scripts/pg-versions.sh makes its
#                                   server the first time; exit 77 and "SKIPPED: ..." when this
#                                   machine cannot provide it)
#   scripts/test.sh -L unit         only the unit tests (any other ctest arguments pass through)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${1:-} == --pg ]]; then
  [[ -n ${2:-} ]] || { echo "scripts/test.sh: --pg needs a version (15, 17, 18)" >&2; exit 2; }
  export PARTSHIFT_PG_VERSION=$2
  shift 2
fi
if [[ -n ${PARTSHIFT_PG_VERSION:-} && -z ${PG_BIN:-} ]]; then
  # Made (or found) before anything else, so a version this machine cannot provide is one
  # SKIPPED line (exit 77) at once, and a long first download talks on its own.
  PG_BIN=$("$root/scripts/pg-versions.sh" bin "$PARTSHIFT_PG_VERSION")
  export PG_BIN
fi
"$root/scripts/build.sh"
build_dir=${PARTSHIFT_BUILD_DIR:-$root/build}
# A build without ctest's cost data (a fresh clone) gets the committed one: the longest tests
# start first instead of last.
costs=$build_dir/Testing/Temporary/CTestCostData.txt
if [[ ! -f $costs ]]; then
  mkdir -p "$(dirname "$costs")"
  grep -v '^#' "$root/tests/ctest_costs.txt" >"$costs"
fi
exec "$root/scripts/pg-sandbox.sh" run -- \
  ctest --test-dir "$build_dir" --output-on-failure --timeout 900 -j "${PARTSHIFT_TEST_JOBS:-2}" "$@"
