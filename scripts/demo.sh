#!/usr/bin/env bash
# The README's first command: builds partshift, starts a throwaway PostgreSQL 15, loads a
# sample `events` table, and migrates it into a monthly-partitioned table while pgbench keeps
# writing to it — then checks that the partitioned copy equals the source, row for row.
#   scripts/demo.sh [ROWS]      (default 200000 rows)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" >/dev/null
export PARTSHIFT_DEMO_ROWS=${1:-200000}
exec "$root/scripts/pg-sandbox.sh" run -- "$root/scripts/demo-steps.sh"
