#!/usr/bin/env bash
# Follow-mode CPU per source transaction, for one or more partshift binaries side by side (an
# A/B of a change to the streamer or the applier). For each binary, in turn and repeated
# ROUNDS times: a fresh throwaway server (scripts/pg-sandbox.sh), issue 7's orders table
# (ROWS rows), `partshift run --dry-run` until it follows, then the orders load at a fixed
# RATE (pgbench -R, -M prepared, 4 clients) and, over SECONDS, the CPU (user + system) of
# partshift, of its walsender and of its apply backend, per source transaction. RATE=1 gives
# a nearly idle run: compare partshift_ticks (10 ms each) then. The server runs with fsync on.
# Numbers are ratios between binaries in the same invocation; the machine's load moves all
# of them alike.
#
#   scripts/bench/follow-cpu.sh [--rate R] [--seconds S] [--rounds N] [--rows N] BIN...
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
rate=400 seconds=30 rounds=2 rows=100000
while [[ $# -gt 0 ]]; do
  case $1 in
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    -*) echo "follow-cpu.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -ge 1 ]] || { echo "usage: follow-cpu.sh [--rate R] [--seconds S] [--rounds N] [--rows N] BIN..." >&2; exit 2; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

one_run() {
  local bin=$1 work spool dsn ps_pid= pb ws ap t0 t1 p0 p1 w0 w1 a0 a1 n
  work=$(mktemp -d /tmp/partshift-follow-cpu.XXXX); chmod 755 "$work"
  spool=$(mktemp -d /tmp/partshift-follow-cpu-spool.XXXX)
  # As production runs (and as scripts/benchmark.sh does): the sandbox alone turns fsync off.
  eval "$(PARTSHIFT_SANDBOX_EXTRA_CONF=$'fsync = on\nfull_page_writes = on\nsynchronous_commit = on' \
    "$here/scripts/pg-sandbox.sh" start "$work/pg" | grep -E '^PG')"
  export PGHOST PGPORT PGUSER PGDATABASE
  trap '"$here/scripts/pg-sandbox.sh" remove "$work/pg" >/dev/null 2>&1 || true; rm -rf "$spool" "$work"' RETURN
  dsn="host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
  [[ "$(psql -Atq "$dsn" -c 'SHOW fsync')" == on ]] || { echo "follow-cpu: fsync is not on" >&2; exit 1; }
  psql -q "$dsn" -v rows="$rows" -f "$here/scripts/bench/orders.sql" >/dev/null
  "$bin" run --dsn "$dsn" --table orders --partition-by range --key created_at \
    --interval '1 month' --premake 3 --spool-dir "$spool" --dry-run >"$work/run.log" 2>&1 &
  ps_pid=$!
  for _ in $(seq 1 300); do grep -q "phase follow" "$work/run.log" && break; sleep 1; done
  pgbench -n -M prepared -c 4 -j 2 -R "$rate" -T $((seconds + 15)) -D rows="$rows" \
    -f "$here/scripts/bench/orders_writes.pgbench" "$dsn" >"$work/pgbench.log" 2>&1 &
  pb=$!
  sleep 10  # past the first batch and the monitor's first samples
  ws=$(psql -Atq "$dsn" -c "SELECT pid FROM pg_stat_replication WHERE application_name = 'partshift-stream'")
  ap=$(psql -Atq "$dsn" -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'partshift-apply' LIMIT 1")
  t0=$(psql -Atq "$dsn" -c "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'orders'")
  p0=$(cpu_ticks "$ps_pid"); w0=$(cpu_ticks "$ws"); a0=$(cpu_ticks "$ap")
  sleep "$seconds"
  t1=$(psql -Atq "$dsn" -c "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'orders'")
  p1=$(cpu_ticks "$ps_pid"); w1=$(cpu_ticks "$ws"); a1=$(cpu_ticks "$ap")
  wait "$pb" || true
  n=$((t1 - t0)); ((n > 0)) || n=1
  echo "$bin tx=$n partshift_ticks=$((p1 - p0)) partshift_us_per_tx=$(((p1 - p0) * 10000 / n))" \
    "walsender_us_per_tx=$(((w1 - w0) * 10000 / n)) apply_us_per_tx=$(((a1 - a0) * 10000 / n))"
  kill -TERM "$ps_pid"; wait "$ps_pid" || true
}

echo "follow-cpu: rate $rate tx/s, $seconds s windows, $rounds rounds, $rows rows"
for ((r = 1; r <= rounds; r++)); do
  for bin in "$@"; do one_run "$bin"; done
done
