# Phase impact (sourced by scripts/benchmark.sh): what the application feels. The load
# (orders_writes.pgbench, 4 clients, prepared) runs $duration s per window, each window after a
# CHECKPOINT:
#   saturated, no migration            → base_tps; offered rate = 45% of it (offered_tps)
#   fixed rate, no migration           → base_p50_ms / base_p99_ms (every transaction logged)
#   (both no-migration windows run again at the end; the median of the two is the reference)
#   sync trigger (the usual recipe: AFTER INSERT/UPDATE/DELETE row trigger writing into the
#   populated partitioned target): fixed rate → trigger_p50/p99_ms; saturated → trigger_tps
#   partshift right after the copy (issue 22 item 0): the fixed-rate load runs while a fresh
#   job (run --dry-run) copies; the $duration s from its "copy done" line, while the walsender
#   and the applier catch up with what was written meanwhile → after_copy_p50/p99_ms
#   partshift following (caught up first): fixed rate → follow_p50/p99_ms, with the job's lag
#   sampled every ~200 ms → lag_p50_s / lag_p99_s; saturated → follow_tps
#   partshift right after a resume: the run is stopped, the fixed-rate load writes a 10 s
#   backlog, the run is started again; the $duration s from its start → after_resume_p50/p99_ms
#   native logical replication, the reference for what following costs on this machine at
#   all (the same windows, a subscription set up as phase drain does, with the source at
#   REPLICA IDENTITY FULL, which native needs and partshift does not): caught up first,
#   fixed rate → native_follow_p50/p99_ms, saturated → native_follow_tps; then the
#   subscription disabled, a 10 s backlog, enabled again; the $duration s from the ENABLE →
#   native_after_resume_p50/p99_ms

impact_window_fixed() {  # impact_window_fixed KEY [LOG]: fixed-rate window, records KEY_p50/p99_ms
  local key=$1 name=${2:-$1} p50 p99 max n
  settle
  pgbench_logged "$name" "$duration" "$offered"
  read -r p50 p99 max n < <(python3 "$bench_dir/figures.py" latency "$work/lat/$name".*)
  record "${key}_p50_ms" "$p50"
  record "${key}_p99_ms" "$p99"
  log "  $key at $offered tx/s: $n transactions, p50 $p50 ms, p99 $p99 ms, max $max ms"
}
impact_window_saturated() {  # impact_window_saturated KEY [LOG]: records KEY_tps
  settle
  local tps
  tps=$(pgbench_load "${2:-$1}-sat" -T "$duration")
  record "$1_tps" "$tps"
  log "  $1 saturated: $tps tx/s"
}

# impact_load_start NAME / impact_load_end: the fixed-rate load in the background, every
# transaction logged under $work/lat/NAME.*, for windows that are not a fixed span of their own
impact_load_start() {
  rm -f "$work/impact-load.stop"
  pgbench_until "$1" "$offered" "$work/impact-load.stop" 2>/dev/null &
  impact_load_pid=$!
  track "$impact_load_pid"
}
impact_load_end() {
  touch "$work/impact-load.stop"
  wait "$impact_load_pid" || true
}
# impact_window_record KEY NAME FROM: KEY_p50/p99_ms over the $duration s from FROM of the
# load logged as NAME, counted from each transaction's scheduled start as in the other
# fixed-rate windows (a client that queued behind the server pays it in every later one)
impact_window_record() {
  local key=$1 name=$2 from=$3 p50 p99 max n
  read -r p50 p99 max n < <(python3 "$bench_dir/figures.py" latency --from "$from" \
    --to "$(awk -v f="$from" -v d="$duration" 'BEGIN { printf "%.3f", f + d }')" "$work/lat/$name".*)
  record "${key}_p50_ms" "$p50"
  record "${key}_p99_ms" "$p99"
  log "  $key at $offered tx/s: $n transactions, p50 $p50 ms, p99 $p99 ms, max $max ms"
}

# cpu_us_per_tx BEFORE AFTER TX N: the CPU µs per transaction of N processes, from their CPU
# seconds before and after a window (space-separated, cpu_s each) over the TX transactions it
# committed; "nan" for a process whose reading is missing.
cpu_us_per_tx() {
  awk -v b="$1" -v a="$2" -v n="${3:-0}" -v k="$4" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    for (i = 1; i <= k; i++) printf "%s ", (n > 0 && (i in x) && (i in y) && x[i] != "" && y[i] != "") ? sprintf("%.1f", (y[i] - x[i]) * 1e6 / n) : "nan"
    print "" }'
}

sync_trigger_install() {
  sql -f "$work/full.sql" >/dev/null
  sql -c "INSERT INTO $target SELECT * FROM orders" >/dev/null
  sql >/dev/null <<SQL
CREATE FUNCTION bench_sync_orders() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO $target VALUES (NEW.*);
  ELSIF TG_OP = 'UPDATE' THEN
    UPDATE $target SET (id, created_at, customer_id, status, amount, payload) =
        (NEW.id, NEW.created_at, NEW.customer_id, NEW.status, NEW.amount, NEW.payload)
      WHERE id = OLD.id AND created_at = OLD.created_at;
    IF NOT FOUND THEN INSERT INTO $target VALUES (NEW.*); END IF;
  ELSE
    DELETE FROM $target WHERE id = OLD.id AND created_at = OLD.created_at;
  END IF;
  RETURN NULL;
END \$\$;
CREATE TRIGGER bench_sync_orders AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION bench_sync_orders();
SQL
}
sync_trigger_remove() {
  sql -c "DROP TRIGGER bench_sync_orders ON orders" -c "DROP FUNCTION bench_sync_orders()" \
    -c "DROP TABLE $target" >/dev/null
}

phase_impact() {
  log "source impact: $duration s per load window"
  impact_window_saturated base
  offered=$(awk -v t="$(grep '^base_tps ' "$results" | tail -n 1 | cut -d' ' -f2)" \
    'BEGIN { r = int(t * 0.45); print (r < 10 ? 10 : r) }')
  record offered_tps "$offered"
  impact_window_fixed base

  log "  installing the sync trigger (target populated with INSERT … SELECT first)"
  sync_trigger_install
  impact_window_fixed trigger
  impact_window_saturated trigger
  sync_trigger_remove

  log "  partshift: fresh job under the fixed-rate load (run --dry-run), the window after its copy"
  local logfile="$work/follow.log" sampler p50 p99 max n t_copy
  settle
  impact_load_start after-copy
  ps_start "$logfile" --dry-run
  ps_wait_line "$logfile" "copy done"
  t_copy=$(log_time "$logfile" "copy done")
  sleep "$duration"
  impact_load_end
  impact_window_record after_copy after-copy "$t_copy"
  ps_wait_caught_up "$logfile"
  : >"$work/lag.samples"
  lag_sampler "$work/lag.samples" 2>/dev/null &
  sampler=$!
  track "$sampler"
  impact_window_fixed follow
  end_pid "$sampler"
  read -r p50 p99 max n < <(python3 "$bench_dir/figures.py" samples "$work/lag.samples")
  record lag_p50_s "$p50"
  record lag_p99_s "$p99"
  log "  lag while following $offered tx/s: $n samples, p50 $p50 s, p99 $p99 s, max $max s"
  # What following costs per source transaction (issue 22 item 2): the CPU each process of
  # the pipeline used during the saturated window, over the transactions it committed.
  local ws apply before after
  ws=$(sql -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name LIKE 'partshift\_%' AND active_pid IS NOT NULL LIMIT 1")
  apply=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'partshift-apply' AND datname = current_database() LIMIT 1")
  before="$(cpu_s "$ws") $(cpu_s "$ps_pid") $(cpu_s "$apply")"
  impact_window_saturated follow
  after="$(cpu_s "$ws") $(cpu_s "$ps_pid") $(cpu_s "$apply")"
  local tx
  tx=$(awk '/number of transactions actually processed/ { print $6; exit }' "$work/follow-sat.out")
  read -r cpu_ws cpu_ps cpu_apply < <(cpu_us_per_tx "$before" "$after" "$tx" 3)
  record follow_cpu_walsender_us_per_tx "$cpu_ws"
  record follow_cpu_partshift_us_per_tx "$cpu_ps"
  record follow_cpu_apply_us_per_tx "$cpu_apply"
  log "  following saturated: CPU µs per source transaction: walsender $cpu_ws, partshift" \
    "$cpu_ps, apply backend $cpu_apply ($tx transactions)"
  ps_alive "$logfile"
  ps_stop

  log "  partshift stopped; a 10 s backlog at $offered tx/s, then the window after the resume"
  local t_resume
  impact_load_start after-resume
  sleep 10
  logfile="$work/resume.log"
  t_resume=$(now)
  ps_start "$logfile" --dry-run
  sleep "$duration"
  impact_load_end
  impact_window_record after_resume after-resume "$t_resume"
  ps_alive "$logfile"
  ps_stop
  ps_abort

  impact_native

  log "  no migration again (the median of both is the reference: one window disturbed by the"
  log "  shared machine must not make every ratio)"
  impact_window_fixed base base-again
  impact_window_saturated base base-again
}

# impact_native: the same following windows with native logical replication as the consumer.
# Without it a ratio to "no migration" cannot say how much of the cost is partshift's and how
# much is any logical consumer's on a machine whose cores the clients share.
impact_native() {
  log "  native logical replication following the same load (the source at REPLICA IDENTITY FULL)"
  local t_enable
  sql -c "ALTER TABLE orders REPLICA IDENTITY FULL" >/dev/null
  native_setup
  native_subscribe
  sql_in "${db}_sub" -c "ALTER SUBSCRIPTION bench_native ENABLE" >/dev/null
  native_wait_past "$(backlog_end_marker)"
  impact_window_fixed native_follow
  local ws apply before after tx cpu_ws cpu_apply
  ws=$(sql -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'bench_native'")
  apply=$(sql_in "${db}_sub" -c "SELECT pid FROM pg_stat_subscription WHERE subname = 'bench_native' AND relid IS NULL")
  before="$(cpu_s "$ws") $(cpu_s "$apply")"
  impact_window_saturated native_follow
  after="$(cpu_s "$ws") $(cpu_s "$apply")"
  tx=$(awk '/number of transactions actually processed/ { print $6; exit }' "$work/native_follow-sat.out")
  read -r cpu_ws cpu_apply < <(cpu_us_per_tx "$before" "$after" "$tx" 2)
  record native_follow_cpu_walsender_us_per_tx "$cpu_ws"
  record native_follow_cpu_apply_us_per_tx "$cpu_apply"
  log "  native following saturated: CPU µs per source transaction: walsender $cpu_ws, apply" \
    "worker $cpu_apply ($tx transactions)"

  log "  native: subscription disabled; a 10 s backlog at $offered tx/s, then the window after ENABLE"
  sql_in "${db}_sub" -c "ALTER SUBSCRIPTION bench_native DISABLE" >/dev/null
  settle
  impact_load_start native-after-resume
  sleep 10
  t_enable=$(now)
  sql_in "${db}_sub" -c "ALTER SUBSCRIPTION bench_native ENABLE" >/dev/null
  sleep "$duration"
  impact_load_end
  impact_window_record native_after_resume native-after-resume "$t_enable"
  native_teardown
  sql -c "ALTER TABLE orders REPLICA IDENTITY DEFAULT" >/dev/null
}
