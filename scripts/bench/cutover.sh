# Phase cutover (sourced by scripts/benchmark.sh): $cutovers whole migrations under the load at
# the offered rate (every transaction logged), each a fresh job `run --max-lag 1s` that copies,
# follows and cuts over by itself. Per run: the lock hold (status --json lock_hold_ms); the worst
# client transaction across the cutover: every transaction in flight at some moment from the
# cutover's start (its "cutover: lag … starting" log line, before its first lock request) to
# 250 ms after the swap committed (its "swapped on attempt" log line; the 250 ms cover the
# first statements on the new table), by its own time (sent to done) and from its scheduled
# start (which adds what the client was already behind); for comparison, the worst completing
# within 2 s either side of the swap, which also catches the machine's own stalls (on this VM,
# every client waits 100–300 ms on a WAL flush now and then after heavy writes, with or
# without a migration); the time from `run` start to the swap committed; failed client
# transactions.
# The end-to-end reference, INSERT … SELECT into the indexed target, is timed again here on the
# idle table: the earlier phases' load made it larger than --rows. A run that has not cut over
# after $cutover_timeout s is stopped and counted (cutover_timeouts), not waited for. Between
# runs the partitioned table is dropped and the original (orders_old) gets its name and index
# names back.

restore_plain_table() {
  sql >/dev/null <<'SQL'
BEGIN;
ALTER SEQUENCE orders_id_seq OWNED BY NONE;
DROP TABLE orders;
ALTER TABLE orders_old RENAME TO orders;
DO $$
DECLARE i record;
BEGIN
  FOR i IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
           WHERE x.indrelid = 'orders'::regclass AND c.relname LIKE '%\_old' LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', i.relname, left(i.relname, -4));
  END LOOP;
END $$;
ALTER SEQUENCE orders_id_seq OWNED BY orders.id;
DELETE FROM partshift.jobs WHERE job = 'orders';
COMMIT;
SQL
}

phase_cutover() {
  local rate=${offered:-$fallback_rate} i logfile t0 t_start t_swap hold cut p50 p99 max n
  local max_scheduled max_2s
  log "cutover: reference first, at the table's current $(sql -c 'SELECT count(*) FROM orders') rows"
  copy_reference_indexed ref_e2e_insert_select_indexed_s
  for ((i = 1; i <= cutovers; i++)); do
    log "cutover $i/$cutovers: run --max-lag 1s from a fresh job under $rate tx/s"
    settle
    rm -f "$work/load.stop"
    pgbench_until "cut$i" "$rate" "$work/load.stop" 2>/dev/null &
    track $!
    local load_pid=$!
    sleep 3
    logfile="$work/cutover-$i.log"
    t0=$(now)
    ps_start "$logfile" --max-lag 1s
    if ! ps_wait_for "$logfile" "$cutover_timeout"; then
      log "  no cutover within $cutover_timeout s (lag never at most 1 s?); stopping it"
      ps_stop || true
      touch "$work/load.stop"
      wait "$load_pid" || true
      ps_abort
      record cutover_timeouts 1
      continue
    fi
    t_start=$(log_time "$logfile" "cutover: lag")
    t_swap=$(log_time "$logfile" "cutover: swapped on attempt")
    sleep 3  # the load keeps writing, into the partitioned table now
    touch "$work/load.stop"
    wait "$load_pid" || true
    hold=$(ps_status | jq -r '.lock_hold_ms')
    cut=$(sql -c "SELECT extract(epoch FROM cut_over_at) FROM partshift.jobs WHERE job = 'orders'")
    # The worst transaction's own time (sent → done): a client stuck behind the lock shows it
    # in full; the delay a client had already piled up before (pgbench --rate counts from the
    # scheduled start) is the machine's, recorded apart.
    local across=(--overlapping --from "$t_start"
                  --to "$(awk -v c="$t_swap" 'BEGIN { printf "%.3f", c + 0.25 }')")
    read -r p50 p99 max n < <(python3 "$bench_dir/figures.py" latency "${across[@]}" \
      --without-schedule-lag "$work/lat/cut$i".*)
    read -r _ _ max_scheduled _ < <(python3 "$bench_dir/figures.py" latency "${across[@]}" \
      "$work/lat/cut$i".*)
    local window=(--from "$(awk -v c="$cut" 'BEGIN { printf "%.3f", c - 2 }')"
                  --to "$(awk -v c="$cut" 'BEGIN { printf "%.3f", c + 2 }')")
    read -r _ _ max_2s _ < <(python3 "$bench_dir/figures.py" latency "${window[@]}" \
      --without-schedule-lag "$work/lat/cut$i".*)
    record cutover_client_max_scheduled_ms "$max_scheduled"
    record cutover_client_max_2s_ms "$max_2s"
    record cutover_lock_ms "$hold"
    record cutover_client_max_ms "$max"
    record end_to_end_s "$(elapsed "$t0" "$t_swap")"
    record cutover_failed_tx "$(failed_transactions "$work/cut$i.out")"
    record rss_copy_mb "$(ps_rss_mb "$logfile")"
    log "  lock held $hold ms; worst of $n client transactions across the cutover $max ms" \
      "($max_scheduled ms from its scheduled start; worst within 2 s of the swap $max_2s ms);" \
      "run → swap $(elapsed "$t0" "$t_swap") s"
    restore_plain_table
  done
}
