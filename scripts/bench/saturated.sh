# Phase saturated (sourced by scripts/benchmark.sh; issue 22 item 1): what partshift does when
# the application writes as fast as it can. The load is the benchmark's transaction
# (orders_writes.pgbench, 4 clients, -M prepared) without a rate, every transaction logged.
#   no migration      $duration s of the load alone → sat_base_tps
#   partshift         the load runs from 3 s before `run --max-lag 1s --cutover-when tail-fits`
#                     until 3 s after the swap (or $saturated_timeout s without one, then the run
#                     is stopped and counted: sat_cut_over 0). The cutover is held (its
#                     --postpone-cutover-flag file) for $duration s of following, so the lag's
#                     course under the load is measured over as long a window as native's, then
#                     let go. Measured: whether and when it cut over (run start → swap
#                     committed, less that held window), the lock hold, the worst client
#                     transaction across the cutover (as phase cutover measures it), failed
#                     client transactions, the load's TPS from run start to the swap and while
#                     following against sat_base_tps, and how fast the lag grew while following
#                     (a least-squares slope of partshift.jobs.lag_bytes, sampled every second
#                     over the held window; negative: it converged)
#   native            the same load for $duration s with native logical replication following
#                     into the partitioned table in ${db}_sub (set up as phase drain does, the
#                     subscription enabled as the load starts): the slope of the WAL the
#                     subscription has not applied yet (pg_current_wal_lsn() against its
#                     replication origin's remote_lsn), sampled every second
# Afterwards orders is the original table again (restore_plain_table, phase cutover's).

pgbench_unthrottled_until() {  # pgbench_unthrottled_until NAME FILE: 10 s rounds until FILE exists
  local name=$1 stop_file=$2 round=0
  trap 'exit 0' TERM
  mkdir -p "$work/lat"
  while [[ ! -f "$stop_file" ]]; do
    round=$((round + 1))
    pgbench -n -M prepared -c 4 -j 2 -D rows="$rows" -f "$bench_dir/orders_writes.pgbench" \
      -T 10 --max-tries 10 -l --log-prefix="$work/lat/$name.$round" "$db" \
      >>"$work/$name.out" 2>&1 || true
  done
}

# lag_bytes_sampler DATABASE QUERY FILE: "epoch bytes" every second from QUERY, until ended.
# psql's \watch stops at an error, such as partshift.jobs not there yet before the run made
# it: started again a second later.
lag_bytes_sampler() {
  trap 'exit 0' TERM
  while :; do
    printf '%s \\watch 1\n' "$2" | psql -X -q -At -F ' ' -d "$1" >>"$3" 2>/dev/null
    sleep 1
  done
}

# wait_for_follow SECONDS: until the job is in phase follow (0), or the run ended or the time
# ran out (1).
wait_for_follow() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)) && kill -0 "$ps_pid" 2>/dev/null; do
    [[ "$(ps_status | jq -r .phase 2>/dev/null)" == follow ]] && return 0
    sleep 0.2
  done
  return 1
}

phase_saturated() {
  local logfile="$work/saturated.log" t0 t_start t_swap t_follow t_release hold p50 p99 max n
  local sampler load_pid flag="$work/sat.hold" followed=0
  log "saturated: the load without a rate, no migration, $duration s"
  settle
  record sat_base_tps "$(pgbench_load sat-base -T "$duration")"

  log "  partshift: run --max-lag 1s --cutover-when tail-fits under the unthrottled load" \
    "(at most $saturated_timeout s)"
  settle
  rm -f "$work/sat.stop"
  pgbench_unthrottled_until sat "$work/sat.stop" 2>/dev/null &
  load_pid=$!
  track "$load_pid"
  sleep 3
  : >"$work/sat-lag.samples"
  lag_bytes_sampler "$db" "SELECT extract(epoch FROM clock_timestamp()), lag_bytes FROM partshift.jobs WHERE job = 'orders' AND phase = 'follow' AND lag_bytes IS NOT NULL" \
    "$work/sat-lag.samples" &
  sampler=$!
  track "$sampler"
  t0=$(now)
  touch "$flag"
  ps_start "$logfile" --max-lag 1s --cutover-when tail-fits --postpone-cutover-flag "$flag"
  if wait_for_follow "$saturated_timeout"; then
    t_follow=$(now)
    log "    following after $(elapsed "$t0" "$t_follow") s; the cutover held for $duration s"
    sleep "$duration"
    followed=1
  fi
  t_release=$(now)
  rm -f "$flag"
  if ((followed)) && ps_wait_for "$logfile" "$saturated_timeout"; then
    t_start=$(log_time "$logfile" "cutover: lag")
    t_swap=$(log_time "$logfile" "cutover: swapped on attempt")
    sleep 3  # the load goes on, into the partitioned table now
    touch "$work/sat.stop"
    wait "$load_pid" || true
    end_pid "$sampler"
    hold=$(ps_status | jq -r '.lock_hold_ms')
    local across=(--overlapping --from "$t_start"
                  --to "$(awk -v c="$t_swap" 'BEGIN { printf "%.3f", c + 0.25 }')")
    read -r _ _ max _ < <(python3 "$bench_dir/figures.py" latency "${across[@]}" "$work/lat/sat".*)
    read -r _ _ _ n < <(python3 "$bench_dir/figures.py" latency --from "$t0" --to "$t_swap" \
      "$work/lat/sat".*)
    read -r _ _ _ n_follow < <(python3 "$bench_dir/figures.py" latency --from "$t_follow" \
      --to "$t_release" "$work/lat/sat".*)
    record sat_cut_over 1
    # As if not held: to follow, then from the release to the swap.
    record sat_seconds_to_cutover \
      "$(awk -v a="$(elapsed "$t0" "$t_follow")" -v b="$(elapsed "$t_release" "$t_swap")" 'BEGIN { printf "%.3f", a + b }')"
    record sat_follow_tps "$(awk -v n="$n_follow" -v s="$(elapsed "$t_follow" "$t_release")" 'BEGIN { printf "%.1f", n / s }')"
    record sat_lock_ms "$hold"
    record sat_client_max_ms "$max"
    record sat_tps "$(awk -v n="$n" -v s="$(elapsed "$t0" "$t_swap")" 'BEGIN { printf "%.1f", n / s }')"
    record sat_lag_growth_bytes_per_s \
      "$(python3 "$bench_dir/figures.py" slope --to "$t_start" "$work/sat-lag.samples")"
    log "  cut over $(elapsed "$t_release" "$t_swap") s after the hold ended" \
      "($(elapsed "$t0" "$t_swap") s after run started); lock held $hold ms; worst client" \
      "transaction across the cutover $max ms; $n transactions meanwhile"
    restore_plain_table
  else
    log "  no cutover within $saturated_timeout s; stopping it"
    t_swap=$(now)
    ps_stop || true
    touch "$work/sat.stop"
    wait "$load_pid" || true
    end_pid "$sampler"
    read -r _ _ _ n < <(python3 "$bench_dir/figures.py" latency --from "$t0" --to "$t_swap" \
      "$work/lat/sat".*)
    record sat_cut_over 0
    record sat_tps "$(awk -v n="$n" -v s="$(elapsed "$t0" "$t_swap")" 'BEGIN { printf "%.1f", n / s }')"
    record sat_lag_growth_bytes_per_s \
      "$(python3 "$bench_dir/figures.py" slope "$work/sat-lag.samples")"
    ps_abort
  fi
  record sat_failed_tx "$(failed_transactions "$work/sat.out")"
  log "  lag growth while following: $(last_recorded sat_lag_growth_bytes_per_s) bytes/s"

  log "  native logical replication following the same load, $duration s"
  sql -c "ALTER TABLE orders REPLICA IDENTITY FULL" >/dev/null
  native_setup
  native_subscribe
  settle
  : >"$work/native-lag.samples"
  lag_bytes_sampler "${db}_sub" "SELECT extract(epoch FROM clock_timestamp()), pg_wal_lsn_diff(pg_current_wal_lsn(), s.remote_lsn) FROM pg_replication_origin_status s JOIN pg_subscription sub ON s.external_id = 'pg_' || sub.oid WHERE sub.subname = 'bench_native' AND s.remote_lsn <> '0/0'" \
    "$work/native-lag.samples" &
  sampler=$!
  track "$sampler"
  sql_in "${db}_sub" -c "ALTER SUBSCRIPTION bench_native ENABLE" >/dev/null
  record native_sat_tps "$(pgbench_load sat-native -T "$duration")"
  end_pid "$sampler"
  record native_sat_lag_growth_bytes_per_s \
    "$(python3 "$bench_dir/figures.py" slope "$work/native-lag.samples")"
  log "  native: lag growth $(last_recorded native_sat_lag_growth_bytes_per_s) bytes/s;" \
    "$(last_recorded native_sat_tps) tx/s"
  native_teardown
  sql -c "ALTER TABLE orders REPLICA IDENTITY DEFAULT" >/dev/null
}
