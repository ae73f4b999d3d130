# Phase drain (sourced by scripts/benchmark.sh): one backlog of $backlog source transactions
# (the load, saturated, pgbench -t) built while both consumers are stopped, then drained by
# partshift and by native logical replication, one after the other, each timed from its start
# until it has applied the backlog's last transaction.
#   source      REPLICA IDENTITY FULL (native replication needs it to apply into a target whose
#               key is (id, created_at)); a marker transaction ends the backlog: an LSN read
#               inside it, before its COMMIT, is passed only once everything is applied
#   partshift   a fresh job run --dry-run to follow, SIGTERM; after the backlog, run again and
#               time until partshift.jobs.applied_lsn passes the marker; peak RSS = rss_replay_mb
#   native      a second database ${db}_sub on the same server with the identically
#               partitioned table (the plan's DDL, renamed orders) holding the same rows (copied
#               while partshift still follows); then CREATE PUBLICATION for orders and its slot
#               on the idle source, so neither consumer decodes that copy's WAL; the backlog
#               is built; after partshift's drain (its origin would stop a job that filters by
#               origin, 16+) CREATE SUBSCRIPTION (existing slot, copy_data off), then
#               ENABLE and time until the subscription's replication origin
#               (pg_replication_origin_status.remote_lsn, committed with the applied
#               transactions) passes the marker
# Both targets are compared with the source afterwards (count, sums, md5); a difference fails.
# Where the time goes: the CPU seconds each process of either pipeline used, read when the
# drain is complete (each started with it): the walsender, partshift and its apply backend(s),
# summed over the lanes with --apply-workers K; the walsender and the subscription's apply worker.

native_setup() {
  local sub_db=${db}_sub
  createdb "$sub_db"
  # The plan's DDL as is (its id default names the source's sequence)
  sql_in "$sub_db" -c "CREATE SEQUENCE orders_id_seq" -f "$work/full.sql" >/dev/null
  sql_in "$sub_db" -c "ALTER TABLE $target RENAME TO orders" >/dev/null
  # The rows first, the slot after: the source is idle during the setup (no change can fall
  # between the copy and the slot), and neither consumer then has the copy's WAL to decode
  # before the backlog (partshift, still following here, decodes it before it is stopped).
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c '\copy orders to stdout' \
    | psql -X -q -v ON_ERROR_STOP=1 -d "$sub_db" -c '\copy orders from stdin'
  sql_in "$sub_db" -c "VACUUM ANALYZE orders" >/dev/null
  sql -c "CREATE PUBLICATION bench_native FOR TABLE orders" >/dev/null
  # Created here and not by CREATE SUBSCRIPTION: in the same cluster that would wait for itself.
  sql -c "SELECT pg_create_logical_replication_slot('bench_native', 'pgoutput')" >/dev/null
}
# native_subscribe [OPTIONS]: the subscription on that slot, created disabled, with more WITH
# options if given (bigtx: "streaming = on"). Only once no partshift run is active: its
# replication origin is a foreign origin to a job that filters by origin (16+), which stops it.
native_subscribe() {
  sql_in "${db}_sub" -c "CREATE SUBSCRIPTION bench_native CONNECTION 'host=$PGHOST port=$PGPORT user=$PGUSER dbname=$db'
    PUBLICATION bench_native WITH (create_slot = false, slot_name = 'bench_native', copy_data = false, enabled = false${1:+, $1})" \
    >/dev/null
}
native_teardown() {
  local sub_db=${db}_sub
  sql_in "$sub_db" -c "ALTER SUBSCRIPTION bench_native DISABLE" \
    -c "ALTER SUBSCRIPTION bench_native SET (slot_name = NONE)" -c "DROP SUBSCRIPTION bench_native" >/dev/null
  sql -c "SELECT pg_drop_replication_slot('bench_native')" -c "DROP PUBLICATION bench_native" >/dev/null
  dropdb "$sub_db"
}
native_replayed_past() {  # native_replayed_past LSN: t once the subscription applied up to LSN
  sql_in "${db}_sub" -c "SELECT coalesce(bool_or(s.remote_lsn >= '$1'), false)
    FROM pg_replication_origin_status s JOIN pg_subscription sub ON s.external_id = 'pg_' || sub.oid
    WHERE sub.subname = 'bench_native'"
}
native_wait_past() {  # native_wait_past LSN: returns once the subscription applied up to LSN
  local deadline=$((SECONDS + 3600))
  until [[ "$(native_replayed_past "$1")" == t ]]; do
    ((SECONDS < deadline)) || { echo "native replication did not pass $1 in an hour" >&2; return 1; }
    sleep 0.2
  done
}

# fingerprint DB TABLE: what the two targets must agree with the source on
fingerprint() {
  sql_in "$1" -c "SELECT count(*), sum(amount), md5(string_agg(id::text || ':' || status || ':' || amount::text, ',' ORDER BY id)) FROM $2"
}

phase_drain() {
  local logfile="$work/drain-setup.log" end_lsn t0 t1 tps
  log "drain: source at REPLICA IDENTITY FULL; partshift job to follow, then stopped"
  sql -c "ALTER TABLE orders REPLICA IDENTITY FULL" >/dev/null
  ps_start "$logfile" --dry-run
  ps_wait_caught_up "$logfile"
  log "  native: ${db}_sub with the partitioned table and the same rows, publication, slot"
  native_setup
  # partshift stops only once it has read past the setup's WAL, as native's slot starts after it
  # (a few seconds first: the job's status must have seen the new WAL position).
  sleep 3
  ps_wait_caught_up "$logfile"
  ps_stop

  log "  building a backlog of $backlog transactions with both consumers stopped"
  tps=$(pgbench_load backlog -t $((backlog / 4)))
  end_lsn=$(backlog_end_marker)
  record backlog_tx "$backlog"
  log "  backlog built at $tps tx/s; it ends before $end_lsn"
  sql -c "CHECKPOINT" >/dev/null

  logfile="$work/drain.log"
  t0=$(now)
  ps_start "$logfile" --dry-run
  ps_wait_applied "$logfile" "$end_lsn"
  t1=$(now)
  local ws apply cpu_ws cpu_ps cpu_apply
  ws=$(sql -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name LIKE 'partshift\_%' AND active_pid IS NOT NULL LIMIT 1")
  # Every lane's backend (run --apply-workers K in PARTSHIFT_BENCH_RUN_FLAGS): their sum.
  apply=$(sql -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE application_name = 'partshift-apply' AND datname = current_database()")
  # shellcheck disable=SC2086 # one PID per word
  cpu_ws=$(cpu_s "$ws") cpu_ps=$(cpu_s "$ps_pid") cpu_apply=$(cpu_sum_s $apply)
  ps_stop
  record ps_drain_cpu_walsender_s "${cpu_ws:-nan}"
  record ps_drain_cpu_partshift_s "${cpu_ps:-nan}"
  record ps_drain_cpu_apply_s "${cpu_apply:-nan}"
  record ps_drain_s "$(elapsed "$t0" "$t1")"
  record rss_replay_mb "$(ps_rss_mb "$logfile")"
  log "  partshift drained it in $(elapsed "$t0" "$t1") s, peak RSS $(ps_rss_mb "$logfile") MB;" \
    "CPU s: walsender ${cpu_ws:-?}, partshift ${cpu_ps:-?}, apply backend ${cpu_apply:-?}"

  sql -c "CHECKPOINT" >/dev/null
  native_subscribe
  t0=$(now)
  sql_in "${db}_sub" -c "ALTER SUBSCRIPTION bench_native ENABLE" >/dev/null
  native_wait_past "$end_lsn"
  t1=$(now)
  ws=$(sql -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'bench_native'")
  apply=$(sql_in "${db}_sub" -c "SELECT pid FROM pg_stat_subscription WHERE subname = 'bench_native' AND relid IS NULL")
  cpu_ws=$(cpu_s "$ws") cpu_apply=$(cpu_s "$apply")
  record native_drain_s "$(elapsed "$t0" "$t1")"
  record native_drain_cpu_walsender_s "${cpu_ws:-nan}"
  record native_drain_cpu_apply_s "${cpu_apply:-nan}"
  log "  native logical replication drained it in $(elapsed "$t0" "$t1") s;" \
    "CPU s: walsender ${cpu_ws:-?}, apply worker ${cpu_apply:-?}"

  local src ps_dst native_dst
  src=$(fingerprint "$db" orders)
  ps_dst=$(fingerprint "$db" "$target")
  native_dst=$(fingerprint "${db}_sub" orders)
  [[ "$src" == "$ps_dst" ]] || { echo "partshift's target differs from the source: $ps_dst vs $src" >&2; return 1; }
  [[ "$src" == "$native_dst" ]] || { echo "native replication's target differs from the source: $native_dst vs $src" >&2; return 1; }
  native_teardown
  ps_abort
  sql -c "ALTER TABLE orders REPLICA IDENTITY DEFAULT" >/dev/null
}
