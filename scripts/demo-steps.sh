#!/usr/bin/env bash
# The demo's steps, run by scripts/demo.sh inside a sandbox server (PGHOST etc. are set).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
partshift="$root/build/partshift"
workload="$root/tests/workload"
rows=${PARTSHIFT_DEMO_ROWS:-200000}
work=$(mktemp -d /tmp/partshift-demo.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
dsn="dbname=demo"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Loading $rows rows into a plain table 'events'"
createdb demo
psql -X -q -v ON_ERROR_STOP=1 -d demo -f "$workload/events_schema.sql"
psql -X -q -v ON_ERROR_STOP=1 -v rows="$rows" -d demo -f "$workload/events_load.sql"
psql -X -d demo -c "SELECT count(*) AS rows, pg_size_pretty(pg_total_relation_size('events')) AS size FROM events"

step "partshift plan: what would be created (first lines)"
"$partshift" plan --dsn "$dsn" --table events --partition-by range --key ts \
  --interval '1 month' --premake 3 | head -n 30

step "Starting the application's write load (pgbench, prepared statements, 40 s)"
pgbench -n -M prepared -c 4 -j 2 -T 40 -f "$workload/events_writes.pgbench" demo \
  >"$work/pgbench.log" 2>&1 &
pgbench_pid=$!

step "partshift run --dry-run: copy ‖ stream, then follow"
"$partshift" run --dsn "$dsn" --table events --partition-by range --key ts \
  --interval '1 month' --premake 3 --spool-dir "$work/spool" --dry-run &
run_pid=$!

while kill -0 "$pgbench_pid" 2>/dev/null; do
  sleep 5
  "$partshift" status --dsn "$dsn" --job events | sed -n '2p;5,7p' || true
done
tail -n 4 "$work/pgbench.log"

step "Writers stopped; waiting for lag 0"
for _ in $(seq 1 120); do
  json=$("$partshift" status --dsn "$dsn" --job events --json)
  # Plain shell on purpose: a fresh Debian machine may have no JSON tool.
  if [[ "$json" == *'"phase":"follow"'* && "$json" == *'"lag_bytes":0,'* ]]; then break; fi
  sleep 1
done
"$partshift" status --dsn "$dsn" --job events
kill -TERM "$run_pid"
wait "$run_pid"

step "Comparing source and partitioned target (row count and checksum over every column)"
compare="SELECT count(*), md5(string_agg(h, '' ORDER BY h)) FROM (SELECT md5(ROW(t.*)::text) h FROM %s t) s"
src=$(psql -X -At -d demo -c "$(printf "$compare" events)")
dst=$(psql -X -At -d demo -c "$(printf "$compare" events_new)")
echo "source: $src"
echo "target: $dst"
psql -X -d demo -c "SELECT parent.relname AS partitioned_table, count(*) AS partitions FROM pg_inherits i JOIN pg_class parent ON parent.oid = i.inhparent WHERE parent.relname = 'events_new' GROUP BY 1"
if [[ "$src" == "$dst" ]]; then
  echo "OK: the partitioned table equals the source after migrating under write load."
else
  echo "MISMATCH: source and target differ" >&2
  exit 1
fi
