#!/usr/bin/env bash
# The demo's steps, run by scripts/demo.sh inside a sandbox server (PGHOST etc. are set):
# load a plain table, put a write load on it, migrate it to monthly partitions while the load
# runs, cut over, verify, and show what the application felt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
partshift="$root/build/partshift"
workload="$root/tests/workload"
rows=${PARTSHIFT_DEMO_ROWS:-1000000}
work=$(mktemp -d /tmp/partshift-demo.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
dsn="dbname=demo"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Loading $rows rows into a plain table 'events' (about a minute per million rows)"
createdb demo
psql -X -q -v ON_ERROR_STOP=1 -d demo -f "$workload/events_schema.sql"
psql -X -q -v ON_ERROR_STOP=1 -v rows="$rows" -d demo -f "$workload/events_load.sql"
psql -X -d demo -c "SELECT count(*) AS rows, pg_size_pretty(pg_total_relation_size('events')) AS size FROM events"

step "partshift plan: what would be created (first lines)"
"$partshift" plan --dsn "$dsn" --table events --partition-by range --key ts \
  --interval '1 month' --premake 3 | head -n 20

# The application: pgbench with prepared statements (inserts, updates, partition-key moves,
# key changes, deletes), 200 transactions/s, in 10 s rounds until the migration is over, each
# transaction's latency logged so the cutover's effect can be read off afterwards.
step "Starting the application's write load (pgbench -M prepared, 200 tx/s)"
(
  round=0
  while [[ ! -f "$work/migrated" ]]; do
    round=$((round + 1))
    pgbench -n -M prepared -c 4 -j 2 -R 200 --max-tries 10 -T 10 -l --log-prefix="$work/latency.$round" \
      -f "$workload/events_writes.pgbench" demo >>"$work/pgbench.log" 2>&1 || true
  done
) &
load_pid=$!

step "partshift run --verify: copy ‖ stream, index, replay, follow; compare every key range; cut over"
"$partshift" run --dsn "$dsn" --table events --partition-by range --key ts \
  --interval '1 month' --premake 3 --spool-dir "$work/spool" --max-lag 1s --verify &
run_pid=$!
while kill -0 "$run_pid" 2>/dev/null; do
  sleep 10
  kill -0 "$run_pid" 2>/dev/null && "$partshift" status --dsn "$dsn" --job events 2>/dev/null \
    | sed -n '2p;5,7p' || true
done
set +e
wait "$run_pid"
status=$?
set -e
sleep 3  # the application keeps writing to the partitioned table for a moment
touch "$work/migrated"
wait "$load_pid" || true
if [[ $status -ne 0 ]]; then
  echo "partshift run exited with $status" >&2
  exit "$status"
fi

step "What happened"
"$partshift" status --dsn "$dsn" --job events
psql -X -d demo -c "SELECT c.relname AS table, CASE c.relkind WHEN 'p' THEN 'partitioned' ELSE 'plain' END AS kind, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid) AS partitions FROM pg_class c WHERE c.relname IN ('events', 'events_old') ORDER BY 1"

step "Client latency (pgbench, every transaction), overall and within 2 s of the cutover"
cut_at=$(psql -X -At -d demo -c "SELECT extract(epoch FROM cut_over_at)::bigint FROM partshift.jobs WHERE job = 'events'")
# Columns of pgbench -l: client, transaction, latency (µs), script, epoch seconds, µs.
cat "$work"/latency.* 2>/dev/null | awk '{ printf "%.3f %d\n", $3 / 1000.0, $5 }' >"$work/lat"
if [[ -s "$work/lat" ]]; then
  n=$(wc -l <"$work/lat")
  sort -n "$work/lat" | awk -v n="$n" '
    NR == int(n * 0.5) + 1 { p50 = $1 } NR == int(n * 0.99) + 1 { p99 = $1 } { max = $1 }
    END { printf "all %d transactions: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", n, p50, p99, max }'
  awk -v cut="$cut_at" '$2 >= cut - 2 && $2 <= cut + 2 { k++; if ($1 > m) m = $1 }
    END { printf "within 2 s of the cutover (%d transactions): max %.2f ms\n", k, m }' "$work/lat"
fi
grep -h "failed transactions" "$work/pgbench.log" | awk '{ failed += $5 } END { print "failed transactions: " failed + 0 }'

step "The application kept writing, into the partitioned table"
if [[ -s "$work/lat" ]]; then
  awk -v cut="$cut_at" '$2 > cut { k++ } END { printf "%d transactions committed after the cutover\n", k }' "$work/lat"
fi
echo "OK: events is partitioned; source and target were compared range by range before the"
echo "swap (the 'verify:' lines above), and the application never stopped writing."
