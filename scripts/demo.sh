#!/usr/bin/env bash
# The README's first command: builds partshift, starts a throwaway PostgreSQL 15, loads a
# sample `events` table, and migrates it into a monthly-partitioned table while pgbench keeps
# writing to it — copy, follow, cutover — then verifies the result against the original.
#   scripts/demo.sh [ROWS]      (default 1000000 rows; a few minutes on 2 cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
echo "partshift demo: installing what is missing and building (the first build takes several minutes)" >&2
# Show the build's progress on one line; the whole output only when it fails.
build_log=$(mktemp /tmp/partshift-build.XXXXXX)
if ! "$root/scripts/build.sh" >"$build_log" 2>&1; then
  tail -n 40 "$build_log" >&2
  exit 1
fi &
build_pid=$!
while kill -0 "$build_pid" 2>/dev/null; do
  sleep 5
  step=$(grep -Eo '^\[[0-9]+/[0-9]+\]' "$build_log" | tail -n 1 || true)
  [[ -n "$step" ]] && echo "partshift demo: building $step" >&2
done
wait "$build_pid"
rm -f "$build_log"
export PARTSHIFT_DEMO_ROWS=${1:-1000000}
exec "$root/scripts/pg-sandbox.sh" run -- "$root/scripts/demo-steps.sh"
