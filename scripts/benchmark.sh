#!/usr/bin/env bash
# partshift benchmark: copy and replay speed as RATIOS against plain SQL on the same server.
#
#   scripts/benchmark.sh [ROWS]        default 1000000; 200000 is a quick run
#
# Why ratios: the machine is shared (2 cores, test suites running next to us), so absolute
# seconds drift by 2x between minutes. Every partshift run is paired with a reference run of
# plain SQL doing the same work on the same server in the same script, the pairs are
# interleaved (round 1 reference first, round 2 partshift first) and the median of the rounds
# is reported. Results and the command that produced them go into BENCHMARKS.md.
#
# Measured:
#   copy    reference A: INSERT INTO target SELECT * FROM events into the unindexed partitioned
#                        target, then the same indexes (load first, index after)
#           reference B: the same INSERT … SELECT into the already indexed target
#           partshift:   run --dry-run from a fresh job until the phase becomes replay
#                        (prepare + parallel binary COPY + index build), from its log lines
#   replay  a backlog built while partshift is stopped in follow: UPDATE of the ROWS original
#           rows and ROWS/2 inserts (two transactions);
#           reference:   the same logical change applied to the target with two statements
#                        (rolled back afterwards so the target stays what partshift expects)
#           partshift:   run --dry-run from start until applied_lsn passes the backlog and
#                        status --json shows follow with lag_bytes 0; peak RSS (VmHWM)
#
# Environment: PARTSHIFT_BENCH_ROUNDS (default 2), PARTSHIFT_BENCH_WORKERS (copy workers,
# default 2 = partshift's default).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-1000000}
[[ "$rows" =~ ^[0-9]+$ && "$rows" -ge 1000 ]] || { echo "usage: $0 [ROWS>=1000]" >&2; exit 2; }

# Outside the sandbox: build the binary (as scripts/build.sh does, but only the partshift
# target: the test binaries take minutes on 2 cores and are not needed here), then re-enter
# this script inside a throwaway PostgreSQL 15 that pg-sandbox.sh removes on exit.
if [[ -z "${PARTSHIFT_SANDBOX_DIR:-}" ]]; then
  "$root/scripts/install-deps.sh"
  build_dir=${PARTSHIFT_BUILD_DIR:-$root/build}
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE:-RelWithDebInfo} >/dev/null
  cmake --build "$build_dir" --target partshift -j "${PARTSHIFT_BUILD_JOBS:-2}" >/dev/null
  exec "$root/scripts/pg-sandbox.sh" run -- "$0" "$rows"
fi

partshift="${PARTSHIFT_BUILD_DIR:-$root/build}/partshift"
workload="$root/tests/workload"
rounds=${PARTSHIFT_BENCH_ROUNDS:-2}
workers=${PARTSHIFT_BENCH_WORKERS:-2}
db=bench
dsn="dbname=$db"
export PARTSHIFT_LOG_LEVEL=info
work=$(mktemp -d /tmp/partshift-bench.XXXXXX)
run_pid=""
spec=(--table events --partition-by range --key ts --interval '1 month' --premake 3)

logs_dir=${PARTSHIFT_BENCH_LOGS:-$root/build/benchmark-logs}

cleanup() {
  # Only the partshift run this script started; pg-sandbox.sh then removes the server.
  if [[ -n "$run_pid" ]] && kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  # partshift's logs outlive the run (phase timestamps, lag lines) for reading the numbers.
  rm -rf "$logs_dir" && mkdir -p "$logs_dir" && cp "$work"/*.log* "$logs_dir"/ 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
# seconds between two epoch timestamps, 2 decimals
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# The log's timestamp ("2026-01-02 03:04:05.678 info MESSAGE") of the first line containing $2.
log_time() {
  local line
  line=$(grep -m1 -F -- "$2" "$1") || { echo "no '$2' in $1" >&2; tail -n 20 "$1" >&2; return 1; }
  date -d "$(cut -d' ' -f1,2 <<<"$line")" +%s.%N
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v p="$1" -v r="$2" 'BEGIN { printf "%.2f", (r > 0 ? p / r : 0) }'; }
# Peak resident size of a process, kept up to date in a file while it runs (VmHWM is the
# high-water mark, so the last value read before it exits is the peak of the whole run).
watch_rss() {
  local pid=$1 out=$2 v
  while v=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null) && [[ -n "$v" ]]; do
    echo "$v" >"$out"
    sleep 0.2
  done
}
# A clean start for each measured run: no dirty buffers or dead tuples left by the previous one.
settle() { sql -c "VACUUM ANALYZE events" -c "CHECKPOINT" >/dev/null; }

start_run() {  # start_run LOGFILE [extra run options]: background partshift run, sets run_pid
  local logfile=$1
  shift
  "$partshift" run --dsn "$dsn" "${spec[@]}" --dry-run --copy-workers "$workers" \
    --spool-dir "$work/spool" "$@" >"$logfile" 2>&1 &
  run_pid=$!
  watch_rss "$run_pid" "$logfile.rss" &
}
stop_run() {  # SIGTERM: the graceful stop a user would do; the checkpoint is kept
  kill -TERM "$run_pid"
  wait "$run_pid" || { echo "partshift run exited $?" >&2; return 1; }
  run_pid=""
}
wait_run() {
  wait "$run_pid" || { echo "partshift run exited $?; log:" >&2; tail -n 20 "$1" >&2; return 1; }
  run_pid=""
}
status_json() { "$partshift" status --dsn "$dsn" --job events --json; }
wait_follow_lag0() {  # until status --json (updated once a second by the run) says caught up
  local deadline=$((SECONDS + 1800)) s
  while ((SECONDS < deadline)); do
    s=$(status_json 2>/dev/null || true)
    [[ "$(jq -r '"\(.phase) \(.lag_bytes)"' <<<"$s" 2>/dev/null)" == "follow 0" ]] && return 0
    kill -0 "$run_pid" 2>/dev/null || { echo "partshift run ended early" >&2; return 1; }
    sleep 0.2
  done
  echo "timed out waiting for follow with lag 0" >&2
  return 1
}

# ---------------------------------------------------------------------------------------------
log "loading $rows rows into events (tests/workload/events_*.sql)"
createdb "$db"
sql -f "$workload/events_schema.sql"
sql -v rows="$rows" -f "$workload/events_load.sql" >/dev/null
table_size=$(sql -c "SELECT pg_size_pretty(pg_total_relation_size('events'))")
pg_version=$(sql -c "SHOW server_version")

# The reference builds exactly what partshift builds: the plan's DDL, taken once before any job
# exists (preflight refuses names that are taken). Split into the table part and the index
# part, so reference A can load first and index after.
"$partshift" plan --dsn "$dsn" "${spec[@]}" >"$work/plan.sql"
grep -Ev '^(BEGIN|COMMIT);' "$work/plan.sql" >"$work/full.sql"
grep -Ei '^(CREATE (UNIQUE )?INDEX|ALTER TABLE .* ADD (CONSTRAINT|PRIMARY KEY))' "$work/full.sql" >"$work/indexes.sql"
grep -Fvx -f "$work/indexes.sql" "$work/full.sql" >"$work/tables.sql"
[[ -s "$work/indexes.sql" ]] || { echo "no index statements found in the plan" >&2; cat "$work/plan.sql" >&2; exit 1; }
target=$(grep -m1 -oE 'CREATE TABLE [^ ]+ ' "$work/tables.sql" | cut -d' ' -f3)
partitions=$(grep -c 'PARTITION OF' "$work/tables.sql")
log "target $target with $partitions partitions and $(wc -l <"$work/indexes.sql") index statements"

# ---------------------------------------------------------------------------------------------
# copy
ref_load=() ref_index=() ref_total=() ref_indexed=() ps_copy=() ps_prepare=() ps_copyonly=() ps_index=() ps_rss=()

copy_reference_unindexed() {
  sql -f "$work/tables.sql" >/dev/null
  settle
  local t0 t1 t2
  t0=$(now)
  sql -c "INSERT INTO $target SELECT * FROM events" >/dev/null
  t1=$(now)
  sql -f "$work/indexes.sql" >/dev/null
  t2=$(now)
  ref_load+=("$(elapsed "$t0" "$t1")")
  ref_index+=("$(elapsed "$t1" "$t2")")
  ref_total+=("$(elapsed "$t0" "$t2")")
  sql -c "DROP TABLE $target" >/dev/null
  log "  reference, load then index: load ${ref_load[-1]} s + index ${ref_index[-1]} s"
}
copy_reference_indexed() {
  sql -f "$work/full.sql" >/dev/null
  settle
  local t0 t1
  t0=$(now)
  sql -c "INSERT INTO $target SELECT * FROM events" >/dev/null
  t1=$(now)
  ref_indexed+=("$(elapsed "$t0" "$t1")")
  sql -c "DROP TABLE $target" >/dev/null
  log "  reference, load into indexed table: ${ref_indexed[-1]} s"
}
copy_partshift() {
  settle
  local logfile="$work/copy-${#ps_copy[@]}.log" t0 t_prepared t_index t_replay
  t0=$(now)
  start_run "$logfile" --dry-run-for 1s
  wait_run "$logfile"
  t_prepared=$(log_time "$logfile" "prepared:")
  t_index=$(log_time "$logfile" "phase index")
  t_replay=$(log_time "$logfile" "phase replay")
  ps_copy+=("$(elapsed "$t0" "$t_replay")")
  ps_prepare+=("$(elapsed "$t0" "$t_prepared")")
  ps_copyonly+=("$(elapsed "$t_prepared" "$t_index")")
  ps_index+=("$(elapsed "$t_index" "$t_replay")")
  ps_rss+=("$(cat "$logfile.rss")")
  "$partshift" abort --dsn "$dsn" --job events >/dev/null 2>&1
  log "  partshift: ${ps_copy[-1]} s (prepare ${ps_prepare[-1]} + copy ${ps_copyonly[-1]} + index ${ps_index[-1]}), peak RSS ${ps_rss[-1]} kB"
}

for ((r = 1; r <= rounds; r++)); do
  log "copy round $r/$rounds"
  if ((r % 2)); then
    copy_reference_unindexed; copy_reference_indexed; copy_partshift
  else
    copy_partshift; copy_reference_indexed; copy_reference_unindexed
  fi
done

# ---------------------------------------------------------------------------------------------
# replay
log "replay: starting a job and letting it reach follow"
start_run "$work/replay-setup.log"
wait_follow_lag0
stop_run
changes=$((rows + rows / 2))
ref_replay=() ps_replay=() ps_received=() ps_replay_rss=()

for ((r = 1; r <= rounds; r++)); do
  log "replay round $r/$rounds: building a backlog of $rows updates and $((rows / 2)) inserts"
  max_id=$(sql -c "SELECT max(id) FROM events")
  # The update touches the original rows only, so every round replays the same amount of work
  # although the inserts make the table grow. The LSN read just before the last COMMIT is
  # below that commit, so applied_lsn >= it means the whole backlog is on the target.
  end_lsn=$(sql <<SQL
UPDATE events SET amount = amount + 1 WHERE id <= $rows;
BEGIN;
INSERT INTO events (ts, customer_id, amount, status, big, payload)
SELECT now() - (g % 170) * interval '1 day' - (g % 86400) * interval '1 second',
       g % 1000, (g % 10000) / 100.0, (ARRAY['new', 'paid', 'shipped'])[1 + g % 3],
       CASE WHEN g % 50 = 0 THEN
         (SELECT string_agg(md5(random()::text || g::text || i::text), '') FROM generate_series(1, 320) i)
       END,
       jsonb_build_object('g', g, 'tag', 'x' || (g % 7))
FROM generate_series(1, $((rows / 2))) g;
SELECT pg_current_wal_insert_lsn();
COMMIT;
SQL
)
  settle

  # Reference: the same logical change straight on the target, then rolled back.
  t0=$(now)
  sql >/dev/null <<SQL
BEGIN;
UPDATE $target SET amount = amount + 1 WHERE id <= $rows;
INSERT INTO $target SELECT * FROM events WHERE id > $max_id;
ROLLBACK;
SQL
  t1=$(now)
  ref_replay+=("$(elapsed "$t0" "$t1")")
  # The rolled-back versions are dead tuples now; clean them so partshift meets the same table.
  sql -c "VACUUM ANALYZE $target" -c "CHECKPOINT" >/dev/null
  log "  reference (direct SQL): ${ref_replay[-1]} s"

  logfile="$work/replay-$r.log"
  t0=$(now)
  start_run "$logfile"
  t_received=""
  while :; do
    read -r applied received < <(sql -F' ' -c "SELECT applied_lsn >= '$end_lsn', coalesce(received_lsn >= '$end_lsn', false) FROM partshift.jobs WHERE job = 'events'")
    [[ -z "$t_received" && "$received" == t ]] && t_received=$(now)
    [[ "$applied" == t ]] && break
    if ! kill -0 "$run_pid" 2>/dev/null; then
      wait "$run_pid" || true
      run_pid=""
      echo "partshift run ended early:" >&2; tail -n 20 "$logfile" >&2; exit 1
    fi
    sleep 0.2
  done
  t1=$(now)
  [[ -n "$t_received" ]] || t_received=$t1
  wait_follow_lag0
  ps_replay+=("$(elapsed "$t0" "$t1")")
  ps_received+=("$(elapsed "$t0" "$t_received")")
  stop_run
  ps_replay_rss+=("$(cat "$logfile.rss")")
  log "  partshift: ${ps_replay[-1]} s (whole backlog in the spool after ~${ps_received[-1]} s), peak RSS ${ps_replay_rss[-1]} kB"
done

# The target must equal the source, or the timings mean nothing.
check="SELECT count(*), sum(amount), md5(string_agg(id::text || ':' || amount::text, ',' ORDER BY id)) FROM"
src=$(sql -c "$check events")
dst=$(sql -c "$check $target")
[[ "$src" == "$dst" ]] || { echo "target differs from source after replay: $src vs $dst" >&2; exit 1; }
"$partshift" abort --dsn "$dsn" --job events >/dev/null 2>&1

# ---------------------------------------------------------------------------------------------
m_ref_total=$(median "${ref_total[@]}"); m_ref_load=$(median "${ref_load[@]}")
m_ref_index=$(median "${ref_index[@]}"); m_ref_indexed=$(median "${ref_indexed[@]}")
m_ps_copy=$(median "${ps_copy[@]}"); m_ref_replay=$(median "${ref_replay[@]}")
m_ps_replay=$(median "${ps_replay[@]}"); m_ps_received=$(median "${ps_received[@]}")
row() { printf '| %-44s | %9s | %9s | %6s |\n' "$1" "$2" "$3" "$4"; }

echo
echo "partshift benchmark: $rows rows ($table_size), $partitions partitions, $rounds rounds (median), copy workers $workers"
echo "machine: nproc $(nproc), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), PostgreSQL $pg_version, $(uname -sr)"
echo
row metric "ref s" "ps s" ratio
row "--------------------------------------------" "---------" "---------" "------"
row "copy+index vs INSERT SELECT, then index" "$m_ref_total" "$m_ps_copy" "$(ratio "$m_ps_copy" "$m_ref_total")"
row "copy+index vs INSERT SELECT into indexed" "$m_ref_indexed" "$m_ps_copy" "$(ratio "$m_ps_copy" "$m_ref_indexed")"
row "ref: indexed load vs load then index" "$m_ref_total" "$m_ref_indexed" "$(ratio "$m_ref_indexed" "$m_ref_total")"
row "replay backlog vs direct UPDATE+INSERT" "$m_ref_replay" "$m_ps_replay" "$(ratio "$m_ps_replay" "$m_ref_replay")"
echo
echo "reference load then index: load $m_ref_load s + index $m_ref_index s"
echo "partshift copy phases (median): prepare $(median "${ps_prepare[@]}") s, copy $(median "${ps_copyonly[@]}") s, index $(median "${ps_index[@]}") s"
echo "replay: $changes changes per round, $(awk -v c="$changes" -v s="$m_ps_replay" 'BEGIN { printf "%.0f", c / s }') changes/s partshift vs $(awk -v c="$changes" -v s="$m_ref_replay" 'BEGIN { printf "%.0f", c / s }') changes/s direct SQL; backlog fully spooled after ~$m_ps_received s"
echo "peak RSS (VmHWM): copy runs ${ps_rss[*]} kB; replay runs ${ps_replay_rss[*]} kB"
echo "partshift logs: $logs_dir"
echo "rounds: copy ref ${ref_total[*]} / indexed ${ref_indexed[*]} / partshift ${ps_copy[*]}; replay ref ${ref_replay[*]} / partshift ${ps_replay[*]}"
