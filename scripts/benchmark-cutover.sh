#!/usr/bin/env bash
# partshift cutover benchmark: what the application feels while partshift follows and cuts
# over, as RATIOS against the same load without partshift, on the same server, in one run.
#
#   scripts/benchmark-cutover.sh [ROWS] [RATE]     default 1000000 rows, 500 transactions/s
#
# The server runs as production does (fsync on, full_page_writes on). The load is pgbench
# (-M prepared, the events write mix, 4 clients) at a fixed rate, every transaction's latency
# logged. Reference: 30 s of the load alone. Then the same load while partshift copies,
# follows and cuts over (run --max-lag 1s). Reported: the lock hold and the tail applied under
# it (from partshift), client latency p50/p99 of the reference, of the follow phase and within
# 1 s of the cutover, their ratios, and failed transactions.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-1000000}
rate=${2:-500}

if [[ -z "${PARTSHIFT_SANDBOX_DIR:-}" ]]; then
  "$root/scripts/install-deps.sh"
  build_dir=${PARTSHIFT_BUILD_DIR:-$root/build}
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
  echo "benchmark: building partshift" >&2
  cmake --build "$build_dir" --target partshift -j "${PARTSHIFT_BUILD_JOBS:-2}" >/dev/null
  export PARTSHIFT_SANDBOX_EXTRA_CONF=$'fsync = on\nfull_page_writes = on'
  exec "$root/scripts/pg-sandbox.sh" run -- "$0" "$rows" "$rate"
fi

partshift="${PARTSHIFT_BUILD_DIR:-$root/build}/partshift"
workload="$root/tests/workload"
work=$(mktemp -d /tmp/partshift-bench-cutover.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
db=bench

echo "benchmark: fsync=$(psql -X -At -c 'SHOW fsync'), loading $rows rows" >&2
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$workload/events_schema.sql"
psql -X -q -v ON_ERROR_STOP=1 -v rows="$rows" -d "$db" -f "$workload/events_load.sql"
psql -X -q -d "$db" -c "CHECKPOINT"

load() {  # load NAME SECONDS: the fixed-rate load, latency log under $work/NAME.*
  pgbench -n -M prepared -c 4 -j 2 -R "$rate" -T "$2" -l --log-prefix="$work/$1" \
    -f "$workload/events_writes.pgbench" "$db" >>"$work/pgbench.log" 2>&1
}
# Columns of pgbench -l: client, transaction, latency (µs), script, epoch seconds, µs.
latencies() { cat "$work/$1".* | awk -v from="${2:-0}" -v to="${3:-9999999999}" \
  '{ t = $5 + $6 / 1e6 } t >= from && t <= to { printf "%.3f\n", $3 / 1000.0 }' | sort -n; }
pct() { awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p) + 1; if (i > NR) i = NR; if (NR == 0) print "nan"; else print v[i] }'; }

echo "benchmark: reference, the load alone for 30 s" >&2
load ref 30
ref_p50=$(latencies ref | pct 0.5)
ref_p99=$(latencies ref | pct 0.99)

echo "benchmark: the load while partshift copies, follows and cuts over" >&2
( while [[ ! -f "$work/done" ]]; do load mig 10 || true; done ) &
load_pid=$!
sleep 5
start=$(date +%s)
PARTSHIFT_LOG_LEVEL=info "$partshift" run --dsn "dbname=$db" --table events --partition-by range \
  --key ts --interval '1 month' --premake 3 --spool-dir "$work/spool" --max-lag 1s \
  >"$work/run.log" 2>&1
sleep 5
touch "$work/done"
wait "$load_pid" || true

read -r cut follow_at hold <<<"$(psql -X -At -F ' ' -d "$db" -c "SELECT extract(epoch FROM cut_over_at), extract(epoch FROM (phase_started->>'follow')::timestamptz), round(lock_hold_ms::numeric, 1) FROM partshift.jobs WHERE job = 'events'")"
tail_ms=$(grep -o 'tail applied in [0-9]* ms' "$work/run.log" | head -n 1 | grep -o '[0-9]*' || echo "?")
cut_lo=$(awk -v c="$cut" 'BEGIN { printf "%.3f", c - 1 }')
cut_hi=$(awk -v c="$cut" 'BEGIN { printf "%.3f", c + 1 }')
fol_p50=$(latencies mig "$follow_at" "$cut_lo" | pct 0.5)
fol_p99=$(latencies mig "$follow_at" "$cut_lo" | pct 0.99)
cut_n=$(latencies mig "$cut_lo" "$cut_hi" | wc -l)
cut_max=$(latencies mig "$cut_lo" "$cut_hi" | tail -n 1)
failed=$(grep -h "failed transactions" "$work/pgbench.log" | awk '{ f += $5 } END { print f + 0 }')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

cat <<REPORT
partshift cutover benchmark: $rows rows, pgbench -M prepared at $rate tx/s, fsync on
  lock hold (granted → commit)       ${hold} ms, tail applied under the lock in ${tail_ms} ms
  whole run                          $(( $(date +%s) - start - 5 )) s
  client latency, load alone         p50 ${ref_p50} ms, p99 ${ref_p99} ms
  client latency, while following    p50 ${fol_p50} ms ($(ratio "$fol_p50" "$ref_p50")×), p99 ${fol_p99} ms ($(ratio "$fol_p99" "$ref_p99")×)
  within 1 s of the cutover          ${cut_n} transactions, max ${cut_max} ms ($(ratio "$cut_max" "$ref_p99")× the reference p99)
  failed transactions                ${failed}
REPORT
