# Phase lanes (sourced by scripts/benchmark.sh; issue 22 item 3): how the drain of one backlog
# scales with the apply lanes (`run --apply-workers K`, K in $lane_counts, default 1,2,4).
# One job follows the idle source; then for each K, twice:
#   as is      the job is stopped (SIGTERM, a clean stop: the lanes can change in number), a
#              backlog of $lanes_backlog transactions of the benchmark's load is built, and the
#              job runs again with --apply-workers K, timed from its start until
#              partshift.jobs.applied_lsn (every lane's) passes the backlog's marker. On this
#              machine the cores run out: the walsender, partshift and K apply backends share them
#   slowed     the same with a slowed apply backend: an ENABLE ALWAYS row trigger on every target
#              partition that sleeps $lanes_delay_ms per changed row. The backend then waits
#              instead of computing, as an apply backend does on a server with more cores than
#              this one or slower storage: K lanes can give close to K× there
# Recorded per K: lanes_drain_s_kK and lanes_slow_drain_s_kK; figures.py reports the speedups
# against K=1. The target is compared with the source at the end (count, sums, md5).

lanes_slow_trigger() {  # lanes_slow_trigger on|off
  local p
  if [[ $1 == on ]]; then
    sql -c "CREATE OR REPLACE FUNCTION public.bench_slow_apply() RETURNS trigger LANGUAGE plpgsql AS
      \$\$BEGIN PERFORM pg_catalog.pg_sleep($lanes_delay_ms / 1000.0); RETURN NULL; END\$\$" >/dev/null
  fi
  for p in $(sql -c "SELECT c.oid::regclass FROM pg_catalog.pg_inherits i
      JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '$target'::regclass"); do
    if [[ $1 == on ]]; then
      sql -c "CREATE TRIGGER bench_slow_apply AFTER INSERT OR UPDATE OR DELETE ON $p
                FOR EACH ROW EXECUTE FUNCTION public.bench_slow_apply()" \
          -c "ALTER TABLE $p ENABLE ALWAYS TRIGGER bench_slow_apply" >/dev/null
    else
      sql -c "DROP TRIGGER bench_slow_apply ON $p" >/dev/null
    fi
  done
}

# lanes_drain_once KEY K: stop the job, build the backlog, drain it with K lanes; records KEY_kK
lanes_drain_once() {
  local key=$1 k=$2 logfile end_lsn t0 t1
  ps_stop
  pgbench_load "lanes-backlog-$key-$k" -t $((lanes_backlog / 4)) >/dev/null
  end_lsn=$(backlog_end_marker)
  sql -c "CHECKPOINT" >/dev/null
  logfile="$work/lanes-$key-$k.log"
  t0=$(now)
  ps_start "$logfile" --dry-run --apply-workers "$k"
  ps_wait_applied "$logfile" "$end_lsn"
  t1=$(now)
  record "${key}_k$k" "$(elapsed "$t0" "$t1")"
  log "  $key, $k lane(s): $lanes_backlog transactions drained in $(elapsed "$t0" "$t1") s"
}

phase_lanes() {
  local logfile="$work/lanes-setup.log" k src dst
  log "lanes: a job follows the idle source; each K drains a backlog of $lanes_backlog transactions"
  ps_start "$logfile" --dry-run
  ps_wait_caught_up "$logfile"
  for k in ${lane_counts//,/ }; do lanes_drain_once lanes_drain_s "$k"; done
  log "  slowed apply backend: a trigger sleeping $lanes_delay_ms ms per row on every target partition"
  lanes_slow_trigger on
  for k in ${lane_counts//,/ }; do lanes_drain_once lanes_slow_drain_s "$k"; done
  ps_stop
  lanes_slow_trigger off
  src=$(fingerprint "$db" orders)
  dst=$(fingerprint "$db" "$target")
  [[ "$src" == "$dst" ]] || { echo "the lanes' target differs from the source: $dst vs $src" >&2; return 1; }
  ps_abort
}
