# Phase bigtx (sourced by scripts/benchmark.sh): one large source transaction, an UPDATE of
# every row of orders in one statement, followed first by partshift and then by native logical
# replication (a subscription with streaming = on), one after the other, on an idle server.
#   partshift   a fresh job run --dry-run, caught up; the UPDATE; timed from its COMMIT's
#               return until partshift.jobs.applied_lsn passes a WAL position read inside the
#               transaction; then stopped
#   native      as phase drain sets it up (${db}_sub, publication, slot, REPLICA IDENTITY FULL),
#               the subscription enabled and caught up (a marker transaction applied); the same
#               UPDATE, timed until the subscription's origin passes the position read inside it
# For each: the slot's spilled and streamed bytes (pg_stat_replication_slots) for the
# transaction, the peak size of the server's pg_replslot/ and of partshift's spool directory
# while it runs and is applied, and partshift's peak RSS. Both targets are compared with the
# source (the fingerprint of phase drain). Run once with a partshift older than streaming
# (PARTSHIFT_BIN) to see what the server spilled before.

# dir_mb_peak_sampler DIR FILE: the peak size of DIR, in MB, kept in FILE while it runs.
dir_mb_peak_sampler() {
  (
    trap 'exit 0' TERM
    peak=0
    while true; do
      now_kb=$(du -sk "$1" 2>/dev/null | cut -f1)
      ((${now_kb:-0} > peak)) && peak=$now_kb && echo "$((peak / 1024))" >"$2"
      sleep 0.2
    done
  ) 2>/dev/null &
  track $!
}

# slot_bytes SLOT: "spill_bytes stream_bytes" of the slot so far
slot_bytes() {
  sql -c "SELECT spill_bytes || ' ' || stream_bytes FROM pg_stat_replication_slots WHERE slot_name = '$1'"
}

# bigtx_measure WHO SLOT WAIT_FN: the UPDATE, then WAIT_FN LSN until applied; records WHO's figures
bigtx_measure() {
  local who=$1 slot=$2 wait_fn=$3 before after t0 t1 t2 end_lsn replslot=$work/bigtx-$1-replslot \
    spool=$work/bigtx-$1-spool
  echo 0 >"$replslot"
  echo 0 >"$spool"
  before=$(slot_bytes "$slot")
  dir_mb_peak_sampler "$pg_dir/data/pg_replslot" "$replslot"
  local replslot_sampler=$!
  dir_mb_peak_sampler "$spool_root" "$spool"
  local spool_sampler=$!
  # The LSN read inside the transaction is passed once it is applied (an LSN read after it
  # may lie past anything an idle subscription reports).
  t0=$(now)
  end_lsn=$(sql <<SQL
BEGIN;
UPDATE orders SET amount = amount + 0.01;
SELECT pg_current_wal_insert_lsn();
COMMIT;
SQL
)
  t1=$(now)
  "$wait_fn" "$end_lsn"
  t2=$(now)
  sleep 1  # the slot's statistics are reported a moment after
  after=$(slot_bytes "$slot")
  end_pid "$replslot_sampler"
  end_pid "$spool_sampler"
  local spill stream
  spill=$(awk -v a="${before% *}" -v b="${after% *}" 'BEGIN { printf "%.1f", (b - a) / 1048576 }')
  stream=$(awk -v a="${before#* }" -v b="${after#* }" 'BEGIN { printf "%.1f", (b - a) / 1048576 }')
  record "bigtx_${who}_update_s" "$(elapsed "$t0" "$t1")"
  record "bigtx_${who}_after_commit_s" "$(elapsed "$t1" "$t2")"
  record "bigtx_${who}_spill_mb" "$spill"
  record "bigtx_${who}_stream_mb" "$stream"
  record "bigtx_${who}_replslot_peak_mb" "$(cat "$replslot")"
  log "  $who: the UPDATE of $rows rows took $(elapsed "$t0" "$t1") s; applied $(elapsed "$t1" "$t2") s" \
    "after its commit; the server spilled $spill MB and streamed $stream MB (pg_replslot/ peak" \
    "$(cat "$replslot") MB)"
  if [[ $who == ps ]]; then
    record bigtx_ps_spool_peak_mb "$(cat "$spool")"
    log "  partshift's spool peaked at $(cat "$spool") MB"
  fi
}

bigtx_ps_applied() { ps_wait_applied "$work/bigtx-run.log" "$1"; }
bigtx_native_applied() { native_wait_past "$1"; }

phase_bigtx() {
  local logfile="$work/bigtx-run.log" slot
  log "bigtx: one UPDATE of all $rows rows in one transaction, partshift then native following it"
  sql -c "ALTER TABLE orders REPLICA IDENTITY FULL" >/dev/null
  ps_start "$logfile" --dry-run
  ps_wait_caught_up "$logfile"
  native_setup
  sleep 3  # the job's status must have seen the setup's WAL
  ps_wait_caught_up "$logfile"
  settle
  ps_wait_caught_up "$logfile"
  slot=$(ps_status | jq -r .slot_name)
  bigtx_measure ps "$slot" bigtx_ps_applied
  record rss_bigtx_mb "$(ps_rss_mb "$logfile")"
  ps_stop
  local src ps_dst native_dst
  src=$(fingerprint "$db" orders)
  ps_dst=$(fingerprint "$db" "$target")
  [[ "$src" == "$ps_dst" ]] || { echo "partshift's target differs from the source: $ps_dst vs $src" >&2; return 1; }

  native_subscribe "streaming = on"
  sql_in "${db}_sub" -c "ALTER SUBSCRIPTION bench_native ENABLE" >/dev/null
  bigtx_native_applied "$(backlog_end_marker)"
  settle
  bigtx_native_applied "$(backlog_end_marker)"
  bigtx_measure native bench_native bigtx_native_applied
  native_dst=$(fingerprint "${db}_sub" orders)
  src=$(fingerprint "$db" orders)
  [[ "$src" == "$native_dst" ]] || { echo "native replication's target differs from the source: $native_dst vs $src" >&2; return 1; }
  native_teardown
  ps_abort
  sql -c "ALTER TABLE orders REPLICA IDENTITY DEFAULT" >/dev/null
}
