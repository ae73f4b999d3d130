# Phase pace (sourced by scripts/benchmark.sh): what run --catch-up-pace buys the application
# in the window after a resume, the one where a catch-up at full speed queues the clients.
# The fixed-rate load of the impact phase (45% of the saturated rate, measured here when the
# impact phase did not run) and its no-migration window as the reference, then $rounds rounds
# of two resumes, alternating: unpaced (--catch-up-pace 100) and paced (--catch-up-pace
# $pace_percent). Each: partshift stopped, a 10 s backlog at the fixed rate, a backlog end
# marker, the run started again; the $duration s from its start → resume_full_p50/p99_ms or
# resume_paced_p50/p99_ms, and the seconds until the job applied past the marker (the
# backlog caught up while the load goes on) → resume_full_catch_up_s / resume_paced_catch_up_s.
# At each stop, the WAL the resume decodes again before the backlog (the slot's confirmed
# position less its restart point) → resume_full_redecode_mb / resume_paced_redecode_mb.

# slot_redecode_mb: MB between the job's slot's restart point and its confirmed position.
slot_redecode_mb() {
  sql -c "SELECT round(pg_wal_lsn_diff(confirmed_flush_lsn, restart_lsn) / 1048576.0, 1)
          FROM pg_replication_slots WHERE slot_name = '$(ps_status | jq -r .slot_name)'"
}

pace_resume_window() {  # pace_resume_window KEY PERCENT ROUND
  local key=$1 percent=$2 round=$3 logfile t_start end_lsn t_applied
  logfile="$work/pace-$key-$round.log"
  ps_stop
  record "resume_${key}_redecode_mb" "$(slot_redecode_mb)"
  settle
  impact_load_start "pace-$key-$round"
  sleep 10
  end_lsn=$(backlog_end_marker)
  t_start=$(now)
  ps_start "$logfile" --dry-run --catch-up-pace "$percent"
  ps_wait_applied "$logfile" "$end_lsn"
  t_applied=$(now)
  sleep "$(awk -v s="$t_start" -v a="$t_applied" -v d="$duration" \
    'BEGIN { w = s + d - a; printf "%.3f", (w > 0 ? w : 0) }')"
  impact_load_end
  impact_window_record "resume_$key" "pace-$key-$round" "$t_start"
  record "resume_${key}_catch_up_s" "$(elapsed "$t_start" "$t_applied")"
  log "    caught up with the backlog in $(elapsed "$t_start" "$t_applied") s" \
    "($(grep -c 'catch-up paced' "$logfile" || true) paced stretch(es) in its log)"
  ps_alive "$logfile"
}

phase_pace() {
  log "pace: the window after a resume, unpaced and at --catch-up-pace $pace_percent, $rounds round(s)"
  record pace_percent "$pace_percent"
  offered=$(last_recorded offered_tps)
  if [[ -z "$offered" ]]; then
    impact_window_saturated base
    offered=$(awk -v t="$(last_recorded base_tps)" 'BEGIN { r = int(t * 0.45); print (r < 10 ? 10 : r) }')
    record offered_tps "$offered"
  fi
  impact_window_fixed pace_base
  local logfile="$work/pace-setup.log" round
  settle
  ps_start "$logfile" --dry-run
  ps_wait_caught_up "$logfile"
  for ((round = 1; round <= rounds; round++)); do
    pace_resume_window full 100 "$round"
    pace_resume_window paced "$pace_percent" "$round"
  done
  ps_stop
  ps_abort
}
