#!/usr/bin/env bash
# The README's `status` transcript, taken from a real run: a sample `events` table under a
# pgbench write load, migrated with --postpone-cutover and a copy slowed by --max-copy-rate so
# that it lasts some seconds; `partshift status` is printed during the copy, while following,
# and after the swap. Run inside a sandbox server (PGHOST etc. set), after scripts/build.sh:
#   scripts/pg-sandbox.sh run -- scripts/status-transcript.sh [ROWS]   (default 200000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
partshift="$root/build/partshift"
workload="$root/tests/workload"
rows=${1:-200000}
work=$(mktemp -d /tmp/partshift-transcript.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
dsn="dbname=demo"

createdb demo
psql -X -q -v ON_ERROR_STOP=1 -d demo -f "$workload/events_schema.sql"
psql -X -q -v ON_ERROR_STOP=1 -v rows="$rows" -d demo -f "$workload/events_load.sql"

# The application: 50 transactions/s of inserts, updates and deletes, until the swap is done.
pgbench -n -M prepared -c 2 -j 1 -R 50 -T 600 -f "$workload/events_writes.pgbench" demo \
  >"$work/pgbench.log" 2>&1 &

"$partshift" run --dsn "$dsn" --table events --partition-by range --key ts \
  --interval '1 month' --premake 3 --spool-dir "$work/spool" --postpone-cutover \
  --max-copy-rate 20000 >"$work/run.log" 2>&1 &
run_pid=$!

# show TITLE [ARGS]: one `partshift status` with the command line it was taken with.
show() {
  printf '\n$ partshift status --dsn "dbname=demo"%s   # %s\n' "${2:+ $2}" "$1"
  # shellcheck disable=SC2086
  "$partshift" status --dsn "$dsn" ${2:-}
}
# wait_for TEXT: until `status --job events` says TEXT (or the run is gone).
wait_for() {
  until "$partshift" status --dsn "$dsn" --job events 2>/dev/null | grep -q "$1"; do
    kill -0 "$run_pid" 2>/dev/null || { cat "$work/run.log" >&2; exit 1; }
    sleep 0.5
  done
}

wait_for 'copy rate'
sleep 4
show "during the copy" "--job events"
wait_for 'waiting for cutover'
sleep 12  # a few lag measurements and the catch-up rates
show "while following, every job" ""
show "while following" "--job events"
printf '\n$ partshift cutover --dsn "dbname=demo" --job events\n'
"$partshift" cutover --dsn "$dsn" --job events
wait "$run_pid"
show "after the swap" "--job events"
