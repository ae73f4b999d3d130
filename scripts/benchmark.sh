#!/usr/bin/env bash
# partshift benchmark (issue 7): one command, its own throwaway PostgreSQL 15 run as in
# production (fsync on, full_page_writes on, synchronous_commit on), the reference scenario at
# --rows N, and every figure a RATIO against a reference run on the same server in the same
# invocation (the machine is shared: absolute seconds drift, ratios much less).
#
#   scripts/benchmark.sh [--rows N] [--json FILE] [--quick] [options]
#
#   --rows N            rows in orders (default 1000000); a bare number works too
#   --json FILE         also write one JSON object with every figure (numbers; null if not measured)
#   --quick             CI size: 1 copy round, 5 s load windows, 1 cutover, small backlog
#   --rounds N          copy rounds and pace rounds, median reported (default 2; quick 1)
#   --duration S        seconds per load window (default 30; quick 5)
#   --backlog N         source transactions in the drain backlog (default rows/5, at least 2000)
#   --cutovers N        whole migrations cut over under the load (default 3; quick 1)
#   --rss-compare       also peak RSS at 1M and 5M rows (--rss-sizes "N M" to change them)
#   --phases LIST       comma-separated subset of copy,impact,drain,cutover,saturated,lanes,bigtx,
#                       pace (default all; none: only --rss-compare)
#   --lanes LIST        apply lanes (--apply-workers) the lanes phase compares (default 1,2,4)
#   --lanes-backlog N   source transactions each lanes drain applies (default backlog/4, >= 2000)
#   --lanes-delay-ms N  the lanes phase's slowed backend: ms slept per changed row (default 1)
#   --pace PERCENT      the pace phase's --catch-up-pace against full speed (default 50)
#   --spool-dir DIR     partshift's --spool-dir (default under the benchmark's temp dir, on the
#                       server's disk), e.g. another disk or /dev/shm
#   --logs DIR          keep partshift's logs, pgbench output and results here
#                       (default build/benchmark-logs)
#   --no-build          use the partshift binary already built (PARTSHIFT_BIN or build dir)
#
# The scenario (scripts/bench/orders.sql): orders(id bigserial PK, created_at timestamptz,
# customer_id int, status text, amount numeric, payload jsonb) with 2 secondary indexes, to be
# partitioned by created_at, 1 month, --premake 3. The load (scripts/bench/orders_writes.pgbench):
# pgbench -M prepared, 4 clients, 1 UPDATE + 1 INSERT per transaction. The phases are in
# scripts/bench/*.sh, each with a header saying exactly what it measures; the arithmetic and
# the targets are in scripts/bench/figures.py. Every process started here is ended on exit and
# the server removed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench_dir=$root/scripts/bench
rows=1000000 json="" quick=0 rounds="" duration="" backlog="" cutovers="" rss_compare=0
rss_sizes="1000000 5000000" phases="copy,impact,drain,cutover,saturated,lanes,bigtx,pace" logs_dir="" build=1
lane_counts="1,2,4" lanes_backlog="" lanes_delay_ms=1 pace_percent=50 spool_root=""
command_line="scripts/benchmark.sh $*"
usage() { sed -n '6,27p' "$0" >&2; exit 2; }
while (($#)); do
  case "$1" in
    --rows) rows=${2:?}; shift ;;
    --json) json=${2:?}; shift ;;
    --quick) quick=1 ;;
    --rounds) rounds=${2:?}; shift ;;
    --duration) duration=${2:?}; shift ;;
    --backlog) backlog=${2:?}; shift ;;
    --cutovers) cutovers=${2:?}; shift ;;
    --rss-compare) rss_compare=1 ;;
    --rss-sizes) rss_sizes=${2:?}; shift ;;
    --phases) phases=${2:?}; shift ;;
    --lanes) lane_counts=${2:?}; shift ;;
    --lanes-backlog) lanes_backlog=${2:?}; shift ;;
    --lanes-delay-ms) lanes_delay_ms=${2:?}; shift ;;
    --pace) pace_percent=${2:?}; shift ;;
    --spool-dir) spool_root=$(cd "${2:?}" && pwd); shift ;;
    --logs) logs_dir=${2:?}; shift ;;
    --no-build) build=0 ;;
    -h|--help) usage ;;
    [0-9]*) rows=$1 ;;
    *) echo "benchmark: unknown option $1" >&2; usage ;;
  esac
  shift
done
for n in "$rows" ${lane_counts//,/ } "$lanes_delay_ms" "$pace_percent" ${lanes_backlog:+"$lanes_backlog"} ${rounds:+"$rounds"} ${duration:+"$duration"} ${backlog:+"$backlog"} ${cutovers:+"$cutovers"}; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 ]] || { echo "benchmark: not a positive number: $n" >&2; exit 2; }
done
((rows >= 1000)) || { echo "benchmark: --rows must be at least 1000" >&2; exit 2; }
for phase in ${phases//,/ }; do
  [[ " copy impact drain cutover saturated lanes bigtx pace none " == *" $phase "* ]] || { echo "benchmark: unknown phase $phase" >&2; exit 2; }
done
rounds=${rounds:-$((quick ? 1 : 2))}
duration=${duration:-$((quick ? 5 : 30))}
cutovers=${cutovers:-$((quick ? 1 : 3))}
cutover_timeout=$((quick ? 90 : 1800))  # a run that never reaches --max-lag 1s under the load
saturated_timeout=$((quick ? 90 : 900))  # the same under the unthrottled load
backlog=${backlog:-$((rows / 5 > 2000 ? rows / 5 : 2000))}
((backlog >= 4)) || backlog=4
lanes_backlog=${lanes_backlog:-$((backlog / 4 > 2000 ? backlog / 4 : 2000))}
[[ -n "$json" ]] && json=$(realpath -m "$json")
logs_dir=$(realpath -m "${logs_dir:-$root/build/benchmark-logs}")
fallback_rate=500  # the cutover phase's rate when the impact phase (which measures it) is skipped

build_dir=${PARTSHIFT_BUILD_DIR:-$root/build}
partshift=${PARTSHIFT_BIN:-$build_dir/partshift}
if ((build)); then
  "$root/scripts/install-deps.sh"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
  echo "benchmark: building partshift" >&2
  cmake --build "$build_dir" --target partshift -j "${PARTSHIFT_BUILD_JOBS:-2}" >/dev/null
fi
[[ -x "$partshift" ]] || { echo "benchmark: no partshift binary at $partshift" >&2; exit 2; }

# The benchmark's own server, whatever sandbox the caller runs in (scripts/test.sh exports one
# with fsync off): another directory, hence another unix socket, as in production.
work=$(mktemp -d /tmp/partshift-bench.XXXXXX)
spool_root=${spool_root:-$work/spool}
pg_dir=$(mktemp -d /tmp/partshift-bench-pg.XXXXXX)
results=$work/results
: >"$results"
source "$bench_dir/lib.sh"
cleanup() {
  local rc=$?
  stop_tracked
  "$root/scripts/pg-sandbox.sh" remove "$pg_dir" || true
  # A previous run's logs (it has a results file) are replaced; any other directory is added to.
  [[ -f "$logs_dir/results" ]] && rm -rf "$logs_dir"
  mkdir -p "$logs_dir" && cp -r "$work"/. "$logs_dir"/ 2>/dev/null || true
  rm -rf "$work" "$pg_dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
set -E  # say which step failed (functions included), then the EXIT trap cleans up
trap 'log "benchmark: failed: $BASH_COMMAND (${FUNCNAME[0]:-main}, line $LINENO), exit $?"' ERR

log "starting the benchmark's PostgreSQL (fsync on, synchronous_commit on) in $pg_dir"
PARTSHIFT_SANDBOX_EXTRA_CONF=$'fsync = on\nfull_page_writes = on\nsynchronous_commit = on' \
  "$root/scripts/pg-sandbox.sh" start "$pg_dir" >/dev/null
export PGHOST=$pg_dir PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
unset PARTSHIFT_SANDBOX_DIR PARTSHIFT_SANDBOX_SCRIPT PGPASSWORD PGSERVICE
db=bench
[[ "$(sql_in postgres -c 'SHOW fsync')" == on ]] || { echo "benchmark: fsync is not on" >&2; exit 1; }

source "$bench_dir/copy.sh"
source "$bench_dir/impact.sh"
source "$bench_dir/drain.sh"
source "$bench_dir/cutover.sh"
source "$bench_dir/rss.sh"
source "$bench_dir/saturated.sh"
source "$bench_dir/lanes.sh"
source "$bench_dir/bigtx.sh"
source "$bench_dir/pace.sh"

log "loading $rows rows into orders"
createdb "$db"
sql -v rows="$rows" -f "$bench_dir/orders.sql" >/dev/null
split_plan
record rows "$rows"
log "orders: $(sql -c "SELECT pg_size_pretty(pg_total_relation_size('orders'))"); target $target," \
  "$partitions partitions; rounds $rounds, load windows $duration s, backlog $backlog tx, $cutovers cutover(s)"

started=$SECONDS
# (if, not &&: inside a function called from an && list, set -e is off and a failed step would
# go unnoticed)
for phase in copy impact drain cutover saturated lanes bigtx pace; do
  if [[ ",$phases," == *",$phase,"* ]]; then "phase_$phase"; fi
done
if ((rss_compare)); then phase_rss_compare; fi

machine="nproc $(nproc), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo),\
 PostgreSQL $(sql -c 'SHOW server_version' | cut -d' ' -f1), $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "partshift benchmark: $rows rows, fsync on, $(((SECONDS - started) / 60)) min; $machine"
echo "command: $command_line"
echo
python3 "$bench_dir/figures.py" report "$results" ${json:+--json "$json"} \
  --machine "$machine" --command "$command_line" $( ((quick)) && echo --quick)
[[ -n "$json" ]] && log "JSON written to $json"
log "logs and raw measurements kept in $logs_dir"
