# Phase copy (sourced by scripts/benchmark.sh): partshift's copy through index build against
# two plain-SQL references on the idle table, interleaved over $rounds rounds.
#   reference "indexed":          the plan's DDL with its indexes, INSERT INTO target SELECT * FROM orders
#   reference "load then index":  the plan's tables, the same INSERT … SELECT, then the indexes
#   partshift:                    run --dry-run-for 1s from a fresh job, process start to the
#                                 "phase replay" log line (prepare + parallel COPY + index build)
# Records ref_insert_select_indexed_s, ref_load_then_index_s, ps_copy_s, rss_copy_mb.

copy_reference_indexed() {  # [KEY]: what to record it as (default ref_insert_select_indexed_s)
  sql -f "$work/full.sql" >/dev/null
  settle
  local t0 t1
  t0=$(now)
  sql -c "INSERT INTO $target SELECT * FROM orders" >/dev/null
  t1=$(now)
  sql -c "DROP TABLE $target" >/dev/null
  record "${1:-ref_insert_select_indexed_s}" "$(elapsed "$t0" "$t1")"
  log "  INSERT … SELECT into the indexed target: $(elapsed "$t0" "$t1") s"
}

copy_reference_unindexed() {
  sql -f "$work/tables.sql" >/dev/null
  settle
  local t0 t1 t2
  t0=$(now)
  sql -c "INSERT INTO $target SELECT * FROM orders" >/dev/null
  t1=$(now)
  sql -f "$work/indexes.sql" >/dev/null
  t2=$(now)
  sql -c "DROP TABLE $target" >/dev/null
  record ref_load_then_index_s "$(elapsed "$t0" "$t2")"
  log "  load then index: $(elapsed "$t0" "$t2") s (load $(elapsed "$t0" "$t1") + index $(elapsed "$t1" "$t2"))"
}

copy_partshift() {
  settle
  local logfile="$work/copy-$1.log" t0 t_replay
  t0=$(now)
  ps_start "$logfile" --dry-run --dry-run-for 1s
  ps_wait "$logfile"
  t_replay=$(log_time "$logfile" "phase replay")
  record ps_copy_s "$(elapsed "$t0" "$t_replay")"
  record rss_copy_mb "$(ps_rss_mb "$logfile")"
  ps_abort
  log "  partshift copy through index build: $(elapsed "$t0" "$t_replay") s, peak RSS $(ps_rss_mb "$logfile") MB"
}

phase_copy() {
  local r
  for ((r = 1; r <= rounds; r++)); do
    log "copy round $r/$rounds ($rows rows, idle table)"
    if ((r % 2)); then
      copy_reference_unindexed; copy_reference_indexed; copy_partshift "$r"
    else
      copy_partshift "$r"; copy_reference_indexed; copy_reference_unindexed
    fi
  done
}
