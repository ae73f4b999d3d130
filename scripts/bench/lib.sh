# Helpers shared by the benchmark phases (sourced by scripts/benchmark.sh; not run alone).
# Expects: $partshift, $work, $db, $rows, $results, $bench_dir, PG* pointing at the benchmark's
# own server. Every background process goes through track() so the exit trap can end it.

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
sql_in() { local d=$1; shift; psql -X -q -At -v ON_ERROR_STOP=1 -d "$d" "$@"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# record KEY VALUE: one measurement for figures.py (a key may repeat: one value per round)
record() { printf '%s %s\n' "$1" "$2" >>"$results"; }
last_recorded() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$results"; }
# A clean start for each measured step: no dirty buffers or dead tuples left by the previous one.
settle() { sql -c "VACUUM ANALYZE orders" -c "CHECKPOINT" >/dev/null; }

bg_pids=()
track() { bg_pids+=("$1"); }
# end_pid PID: SIGTERM to one background process of ours and its children (a loop's pgbench),
# SIGKILL after 5 s.
end_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# Ends what this script started (partshift runs, pgbench loops, samplers), newest first.
stop_tracked() {
  local i
  for ((i = ${#bg_pids[@]} - 1; i >= 0; i--)); do end_pid "${bg_pids[i]}"; done
  bg_pids=()
}

# The log's timestamp ("2026-01-02 03:04:05.678 info MESSAGE") of the first line containing $2.
log_time() {
  local line
  line=$(grep -m1 -F -- "$2" "$1") || { echo "no '$2' in $1" >&2; tail -n 20 "$1" >&2; return 1; }
  date -d "$(cut -d' ' -f1,2 <<<"$line")" +%s.%N
}

# ---- partshift --------------------------------------------------------------------------------
spec=(--table orders --partition-by range --key created_at --interval '1 month' --premake 3)
ps_pid=""

# ps_start LOGFILE [run options]: partshift run in the background (ps_pid), its peak resident
# size (VmHWM, a high-water mark) kept up to date in LOGFILE.rss while it runs.
ps_start() {
  local logfile=$1
  shift
  : >"$logfile.rss"
  # PARTSHIFT_BENCH_RUN_FLAGS: more run flags for every run, e.g. --no-origin-filter to
  # measure a 16+ server without the origin filter beside the same server with it.
  # shellcheck disable=SC2086
  PARTSHIFT_LOG_LEVEL=info "$partshift" run --dsn "dbname=$db" "${spec[@]}" \
    --spool-dir "$spool_root" ${PARTSHIFT_BENCH_RUN_FLAGS:-} "$@" >"$logfile" 2>&1 &
  ps_pid=$!
  track "$ps_pid"
  (
    trap 'exit 0' TERM
    while v=$(awk '/^VmHWM/ { print $2 }' "/proc/$ps_pid/status" 2>/dev/null) && [[ -n "$v" ]]; do
      # Through a rename: a reader must never see the file between truncation and write
      # (that read an empty peak once, printed as "—").
      echo "$v" >"$logfile.rss.tmp" && mv -f "$logfile.rss.tmp" "$logfile.rss"
      sleep 0.2
    done
  ) 2>/dev/null &
  track $!
}
ps_rss_mb() { awk '{ printf "%.1f", $1 / 1024 }' "$1.rss"; }
ps_alive() {
  kill -0 "$ps_pid" 2>/dev/null && return 0
  echo "partshift run ended early; last lines of its log:" >&2
  tail -n 20 "$1" >&2
  return 1
}
ps_stop() {  # SIGTERM, the graceful stop a user does: the checkpoint is kept, exit 0
  kill -TERM "$ps_pid"
  wait "$ps_pid" || { echo "partshift run exited $? on SIGTERM" >&2; return 1; }
  ps_pid=""
}
ps_wait() {  # ps_wait LOGFILE: wait for a run that ends by itself; it must exit 0
  local rc=0
  wait "$ps_pid" || rc=$?
  ps_pid=""
  ((rc == 0)) || { echo "partshift run exited $rc; last lines of its log:" >&2; tail -n 20 "$1" >&2; return 1; }
}
# ps_wait_for LOGFILE SECONDS: ps_wait, but returns 1 with the run still going after SECONDS
ps_wait_for() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$ps_pid" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
  ps_wait "$1"
}
ps_status() { "$partshift" status --dsn "dbname=$db" --job orders --json 2>/dev/null; }
ps_abort() { "$partshift" abort --dsn "dbname=$db" --job orders >/dev/null 2>&1 || true; }
# ps_wait_caught_up LOGFILE: until the run follows with nothing left to apply (idle source)
ps_wait_caught_up() {
  local deadline=$((SECONDS + 3600))
  while ((SECONDS < deadline)); do
    [[ "$(ps_status | jq -r '"\(.phase) \(.lag_bytes)"' 2>/dev/null)" == "follow 0" ]] && return 0
    ps_alive "$1" || return 1
    sleep 0.2
  done
  echo "timed out waiting for follow with lag 0" >&2
  return 1
}
# ps_wait_line LOGFILE TEXT: until the run's log has a line containing TEXT
ps_wait_line() {
  local deadline=$((SECONDS + 3600))
  until grep -qF -- "$2" "$1"; do
    ((SECONDS < deadline)) || { echo "timed out waiting for '$2' in $1" >&2; return 1; }
    ps_alive "$1" || return 1
    sleep 0.2
  done
}
# ps_wait_applied LOGFILE LSN: until the job's applied LSN is at or past LSN
ps_wait_applied() {
  local deadline=$((SECONDS + 3600))
  while ((SECONDS < deadline)); do
    [[ "$(sql -c "SELECT applied_lsn >= '$2' FROM partshift.jobs WHERE job = 'orders'")" == t ]] && return 0
    ps_alive "$1" || return 1
    sleep 0.2
  done
  echo "timed out waiting for the applied LSN to pass $2" >&2
  return 1
}

# backlog_end_marker: a transaction that ends a backlog; prints an LSN read inside it, before
# its COMMIT, which a consumer passes only once it has applied everything before it.
backlog_end_marker() {
  sql <<SQL
BEGIN;
UPDATE orders SET status = status WHERE id = 1;
SELECT pg_current_wal_insert_lsn();
COMMIT;
SQL
}

# cpu_s PID: the CPU seconds (user + system) process PID has used so far; empty if it is gone.
cpu_s() {
  [[ -n "$1" && -r "/proc/$1/stat" ]] || return 0
  # Fields after the command name (which may hold spaces): utime is the 14th of the line.
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# cpu_sum_s PID...: their CPU seconds together (the apply backends of K lanes); empty if none.
cpu_sum_s() {
  local pid total="" s
  for pid in "$@"; do
    s=$(cpu_s "$pid")
    [[ -n $s ]] && total=$(awk -v a="${total:-0}" -v b="$s" 'BEGIN { printf "%.2f", a + b }')
  done
  printf '%s' "$total"
}

# ---- the load -----------------------------------------------------------------------------------
# pgbench_load NAME [pgbench options]: the reference load (4 clients, 1 UPDATE + 1 INSERT per
# transaction, prepared), output in $work/NAME.out; prints the TPS it reached.
pgbench_load() {
  local name=$1
  shift
  pgbench -n -M prepared -c 4 -j 2 -D rows="$rows" -f "$bench_dir/orders_writes.pgbench" "$@" \
    "$db" >"$work/$name.out" 2>&1 || { echo "pgbench $name failed:" >&2; tail -n 20 "$work/$name.out" >&2; return 1; }
  awk '/^tps = / { print $3; exit }' "$work/$name.out"
}
# pgbench_logged NAME SECONDS RATE: the fixed-rate load, every transaction's latency logged
# under $work/lat/NAME.*
pgbench_logged() {
  mkdir -p "$work/lat"
  pgbench_load "$1" -T "$2" -R "$3" -l --log-prefix="$work/lat/$1" >/dev/null
}
# A fixed-rate load in 10 s rounds until FILE exists (a round cut short would lose its log).
pgbench_until() {  # pgbench_until NAME RATE FILE
  local name=$1 rate=$2 stop_file=$3 round=0
  trap 'exit 0' TERM
  mkdir -p "$work/lat"
  while [[ ! -f "$stop_file" ]]; do
    round=$((round + 1))
    pgbench -n -M prepared -c 4 -j 2 -D rows="$rows" -f "$bench_dir/orders_writes.pgbench" \
      -T 10 -R "$rate" --max-tries 10 -l --log-prefix="$work/lat/$name.$round" "$db" \
      >>"$work/$name.out" 2>&1 || true
  done
}
failed_transactions() { grep -h "failed transactions" "$@" 2>/dev/null | awk '{ f += $5 } END { print f + 0 }'; }

# lag_sampler FILE: the job's lag_seconds every ~200 ms while it follows, one per line, until
# ended. It reads the column `status --json` shows as lag_seconds (src/monitor/status_reader.cpp)
# through one psql session (\watch), not a status process every 200 ms: on 2 cores that would
# be load of its own on the latency being measured.
lag_sampler() {
  trap 'exit 0' TERM  # ended by end_pid: quietly
  printf '%s \\watch 0.2\n' "SELECT lag_seconds FROM partshift.jobs WHERE job = 'orders' AND phase = 'follow' AND lag_seconds IS NOT NULL" \
    | psql -X -q -At -d "$db" >>"$1" 2>/dev/null
}

# The plan's DDL for the reference runs: $work/full.sql (tables and indexes), tables.sql,
# indexes.sql; sets $target (orders_new). Taken while no job exists (names must be free).
split_plan() {
  "$partshift" plan --dsn "dbname=$db" "${spec[@]}" >"$work/plan.sql"
  grep -Ev '^(BEGIN|COMMIT);' "$work/plan.sql" >"$work/full.sql"
  grep -Ei '^(CREATE (UNIQUE )?INDEX|ALTER TABLE .* ADD (CONSTRAINT|PRIMARY KEY))' "$work/full.sql" \
    >"$work/indexes.sql"
  grep -Fvx -f "$work/indexes.sql" "$work/full.sql" >"$work/tables.sql"
  [[ -s "$work/indexes.sql" ]] || { echo "no index statements in the plan" >&2; cat "$work/plan.sql" >&2; return 1; }
  target=$(grep -m1 -oE 'CREATE TABLE [^ ]+ ' "$work/tables.sql" | cut -d' ' -f3)
  partitions=$(grep -c 'PARTITION OF' "$work/tables.sql")
}
