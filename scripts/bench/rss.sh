# Phase rss-compare (sourced by scripts/benchmark.sh; --rss-compare): partshift's peak resident
# size at each of $rss_sizes rows, in a database of its own: a fresh job copies the table and
# catches up (run --dry-run; VmHWM then = copy peak), is stopped, a backlog is written with plain
# SQL (a fifth of the rows updated and a tenth inserted, in 10,000-row transactions), and the job
# is run again until it has applied it (VmHWM = replay peak). Records rsscmp_{copy,replay}_mb_N.

phase_rss_compare() {
  local size saved_db=$db logfile end_lsn
  for size in $rss_sizes; do
    db=${saved_db}_rss
    log "rss-compare: $size rows (loading)"
    createdb "$db"
    sql -v rows="$size" -f "$bench_dir/orders.sql" >/dev/null
    logfile="$work/rss-copy-$size.log"
    ps_start "$logfile" --dry-run
    ps_wait_caught_up "$logfile"
    record "rsscmp_copy_mb_$size" "$(ps_rss_mb "$logfile")"
    ps_stop
    log "  copy peak RSS $(ps_rss_mb "$logfile") MB; writing the backlog"
    end_lsn=$(sql -v n="$size" <<'SQL'
SELECT format('UPDATE orders SET amount = amount + 1 WHERE id > %s AND id <= %s AND id %% 5 = 0', lo, lo + 50000)
FROM generate_series(0, :n - 1, 50000) lo \gexec
SELECT format('INSERT INTO orders (created_at, customer_id, status, amount, payload)
  SELECT now() - (g %% 365) * interval ''1 day'', g %% 10000, ''new'', 1, jsonb_build_object(''g'', g)
  FROM generate_series(1, %s) g', least(10000, :n / 10 - lo))
FROM generate_series(0, :n / 10 - 1, 10000) lo \gexec
BEGIN;
UPDATE orders SET status = status WHERE id = 1;
SELECT pg_current_wal_insert_lsn();
COMMIT;
SQL
)
    logfile="$work/rss-replay-$size.log"
    ps_start "$logfile" --dry-run
    ps_wait_applied "$logfile" "${end_lsn##*$'\n'}"
    ps_stop
    record "rsscmp_replay_mb_$size" "$(ps_rss_mb "$logfile")"
    log "  replay peak RSS $(ps_rss_mb "$logfile") MB"
    ps_abort
    db=$saved_db
    dropdb "${saved_db}_rss"
  done
}
