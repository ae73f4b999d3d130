# Phase impact (sourced by scripts/benchmark.sh): what the application feels. The load
# (orders_writes.pgbench, 4 clients, prepared) runs $duration s per window, each window after a
# CHECKPOINT:
#   saturated, no migration            → base_tps; offered rate = 45% of it (offered_tps)
#   fixed rate, no migration           → base_p50_ms / base_p99_ms (every transaction logged)
#   (both no-migration windows run again at the end; the median of the two is the reference)
#   sync trigger (the usual recipe: AFTER INSERT/UPDATE/DELETE row trigger writing into the
#   populated partitioned target): fixed rate → trigger_p50/p99_ms; saturated → trigger_tps
#   partshift following (run --dry-run, caught up first): fixed rate → follow_p50/p99_ms, with
#   status --json sampled every ~200 ms → lag_p50_s / lag_p99_s; saturated → follow_tps

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

  log "  partshift: fresh job, copy and catch up (run --dry-run)"
  local logfile="$work/follow.log" sampler p50 p99 max n
  ps_start "$logfile" --dry-run
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
  impact_window_saturated follow
  ps_alive "$logfile"
  ps_stop
  ps_abort

  log "  no migration again (the median of both is the reference: one window disturbed by the"
  log "  shared machine must not make every ratio)"
  impact_window_fixed base base-again
  impact_window_saturated base base-again
}
