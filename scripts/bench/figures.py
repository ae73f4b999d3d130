#!/usr/bin/env python3
"""The benchmark's arithmetic (stdlib only): percentiles of pgbench latency logs and of samples,
and the final report (table, targets, JSON) from the measurements scripts/benchmark.sh recorded.

  figures.py latency [--from EPOCH] [--to EPOCH] [--overlapping] FILE...
                                                          p50 p99 max count (ms) of pgbench -l
                                                          logs, by completion time (or, with
                                                          --overlapping, every transaction in
                                                          flight at some moment of the window)
  figures.py samples FILE                                  p50 p99 max count of one number a line
  figures.py slope [--from EPOCH] [--to EPOCH] FILE        least-squares slope (per second) of
                                                          "epoch value" lines; nan below 2
  figures.py report RESULTS [--json FILE] [--quick]       table and pass/fail; JSON object

RESULTS holds "key value" lines; a key recorded once per round appears once per round and the
median of its rounds is used.
"""
import argparse
import json
import math
import statistics
import sys


def percentile(values, p):
    """Nearest-rank percentile (the value below which p of the values fall)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def summary(values):
    if not values:
        return "nan nan nan 0"
    return "%.3f %.3f %.3f %d" % (percentile(values, 0.5), percentile(values, 0.99),
                                  max(values), len(values))


def latency_ms(files, start, end, without_schedule_lag=False, overlapping=False):
    # pgbench -l columns: client, transaction, latency µs (or "failed"/"skipped"), script,
    # completion epoch seconds, µs, [schedule lag µs (with --rate)], [retries]. With --rate the
    # latency counts from the scheduled start, so a client that fell behind earlier carries
    # that delay into every later transaction; without_schedule_lag keeps only the
    # transaction's own time, from being sent to completing. overlapping: a transaction counts
    # if it was running at some moment of [start, end] (its own start is its completion minus
    # its own time), not only if it completed within it.
    out = []
    for name in files:
        with open(name) as f:
            for line in f:
                cols = line.split()
                if len(cols) < 6 or not cols[2].isdigit():
                    continue
                done = int(cols[4]) + int(cols[5]) / 1e6
                lag = int(cols[6]) if len(cols) > 6 else 0
                own_s = (int(cols[2]) - lag) / 1e6
                began = done - own_s if overlapping else done
                if began <= end and done >= start:
                    out.append((int(cols[2]) - (lag if without_schedule_lag else 0)) / 1000.0)
    return out


def slope(points):
    """Least-squares slope of (t, v) points, per second; nan without two distinct times."""
    if len(points) < 2:
        return math.nan
    mt = statistics.fmean(t for t, _ in points)
    mv = statistics.fmean(v for _, v in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    if den == 0:
        return math.nan
    return sum((t - mt) * (v - mv) for t, v in points) / den


def read_points(path, start, end):
    out = []
    with open(path) as f:
        for line in f:
            cols = line.split()
            try:
                t, v = float(cols[0]), float(cols[1])
            except (IndexError, ValueError):
                continue
            if start <= t <= end:
                out.append((t, v))
    return out


def read_results(path):
    values = {}
    with open(path) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) != 2:
                continue
            try:
                v = float(parts[1])
            except ValueError:
                continue
            if not math.isnan(v):
                values.setdefault(parts[0], []).append(v)
    return values


# (field, label, how it is computed, target as (op, bound) or None)
def derive(r):
    def med(key):
        return statistics.median(r[key]) if key in r else None

    def top(key):
        return max(r[key]) if key in r else None

    def div(a, b):
        return a / b if a is not None and b not in (None, 0) else None

    ps_copy = med("ps_copy_s")
    f = {
        "rows": med("rows"),
        "copy_vs_insert_select_indexed": div(ps_copy, med("ref_insert_select_indexed_s")),
        "copy_vs_load_then_index": div(ps_copy, med("ref_load_then_index_s")),
        "apply_speedup_vs_native": div(med("native_drain_s"), med("ps_drain_s")),
        "follow_p50_latency_ratio": div(med("follow_p50_ms"), med("base_p50_ms")),
        "follow_p99_latency_ratio": div(med("follow_p99_ms"), med("base_p99_ms")),
        "follow_after_copy_p50_latency_ratio": div(med("after_copy_p50_ms"), med("base_p50_ms")),
        "follow_after_copy_p99_latency_ratio": div(med("after_copy_p99_ms"), med("base_p99_ms")),
        "follow_after_resume_p50_latency_ratio": div(med("after_resume_p50_ms"),
                                                     med("base_p50_ms")),
        "follow_after_resume_p99_latency_ratio": div(med("after_resume_p99_ms"),
                                                     med("base_p99_ms")),
        # the same windows with native logical replication following: what any logical
        # consumer costs the clients on this machine
        "native_follow_p50_latency_ratio": div(med("native_follow_p50_ms"), med("base_p50_ms")),
        "native_follow_p99_latency_ratio": div(med("native_follow_p99_ms"), med("base_p99_ms")),
        "native_after_resume_p50_latency_ratio": div(med("native_after_resume_p50_ms"),
                                                     med("base_p50_ms")),
        "native_after_resume_p99_latency_ratio": div(med("native_after_resume_p99_ms"),
                                                     med("base_p99_ms")),
        "native_source_tps_ratio": div(med("native_follow_tps"), med("base_tps")),
        "trigger_p50_latency_ratio": div(med("trigger_p50_ms"), med("base_p50_ms")),
        "trigger_p99_latency_ratio": div(med("trigger_p99_ms"), med("base_p99_ms")),
        "source_tps_ratio": div(med("follow_tps"), med("base_tps")),
        "trigger_tps_ratio": div(med("trigger_tps"), med("base_tps")),
        "cutover_lock_ms_max": top("cutover_lock_ms"),
        "cutover_client_latency_ms_max": top("cutover_client_max_ms"),
        "cutover_client_latency_with_schedule_lag_ms_max": top("cutover_client_max_scheduled_ms"),
        "cutover_client_latency_2s_window_ms_max": top("cutover_client_max_2s_ms"),
        "end_to_end_vs_insert_select": div(med("end_to_end_s"), med("ref_e2e_insert_select_indexed_s")
                                           or med("ref_insert_select_indexed_s")),
        "lag_p50_s": med("lag_p50_s"),
        "lag_p99_s": med("lag_p99_s"),
        "peak_rss_mb": max([v for k in ("rss_copy_mb", "rss_replay_mb", "rss_bigtx_mb")
                            for v in r.get(k, [])], default=None),
        "peak_rss_copy_mb": top("rss_copy_mb"),
        "peak_rss_replay_mb": top("rss_replay_mb"),
        # the measurements behind the ratios
        "ref_insert_select_indexed_s": med("ref_insert_select_indexed_s"),
        "ref_load_then_index_s": med("ref_load_then_index_s"),
        "partshift_copy_s": ps_copy,
        "backlog_transactions": med("backlog_tx"),
        "partshift_drain_s": med("ps_drain_s"),
        "native_drain_s": med("native_drain_s"),
        "partshift_drain_cpu_walsender_s": med("ps_drain_cpu_walsender_s"),
        "partshift_drain_cpu_partshift_s": med("ps_drain_cpu_partshift_s"),
        "partshift_drain_cpu_apply_s": med("ps_drain_cpu_apply_s"),
        "native_drain_cpu_walsender_s": med("native_drain_cpu_walsender_s"),
        "native_drain_cpu_apply_s": med("native_drain_cpu_apply_s"),
        "follow_cpu_walsender_us_per_tx": med("follow_cpu_walsender_us_per_tx"),
        "follow_cpu_partshift_us_per_tx": med("follow_cpu_partshift_us_per_tx"),
        "follow_cpu_apply_us_per_tx": med("follow_cpu_apply_us_per_tx"),
        "native_follow_cpu_walsender_us_per_tx": med("native_follow_cpu_walsender_us_per_tx"),
        "native_follow_cpu_apply_us_per_tx": med("native_follow_cpu_apply_us_per_tx"),
        "offered_tps": med("offered_tps"),
        "base_tps": med("base_tps"),
        "follow_tps": med("follow_tps"),
        "trigger_tps": med("trigger_tps"),
        "base_p50_ms": med("base_p50_ms"), "base_p99_ms": med("base_p99_ms"),
        "follow_p50_ms": med("follow_p50_ms"), "follow_p99_ms": med("follow_p99_ms"),
        "after_copy_p50_ms": med("after_copy_p50_ms"), "after_copy_p99_ms": med("after_copy_p99_ms"),
        "after_resume_p50_ms": med("after_resume_p50_ms"),
        "after_resume_p99_ms": med("after_resume_p99_ms"),
        "trigger_p50_ms": med("trigger_p50_ms"), "trigger_p99_ms": med("trigger_p99_ms"),
        "native_follow_p50_ms": med("native_follow_p50_ms"),
        "native_follow_p99_ms": med("native_follow_p99_ms"),
        "native_after_resume_p50_ms": med("native_after_resume_p50_ms"),
        "native_after_resume_p99_ms": med("native_after_resume_p99_ms"),
        "native_follow_tps": med("native_follow_tps"),
        # phase pace: the window after a resume, unpaced and at --catch-up-pace
        "pace_percent": med("pace_percent"),
        "pace_base_p50_ms": med("pace_base_p50_ms"), "pace_base_p99_ms": med("pace_base_p99_ms"),
        "resume_full_p50_ms": med("resume_full_p50_ms"),
        "resume_full_p99_ms": med("resume_full_p99_ms"),
        "resume_paced_p50_ms": med("resume_paced_p50_ms"),
        "resume_paced_p99_ms": med("resume_paced_p99_ms"),
        "resume_full_p50_latency_ratio": div(med("resume_full_p50_ms"), med("pace_base_p50_ms")),
        "resume_full_p99_latency_ratio": div(med("resume_full_p99_ms"), med("pace_base_p99_ms")),
        "resume_paced_p50_latency_ratio": div(med("resume_paced_p50_ms"),
                                              med("pace_base_p50_ms")),
        "resume_paced_p99_latency_ratio": div(med("resume_paced_p99_ms"),
                                              med("pace_base_p99_ms")),
        "resume_full_catch_up_s": med("resume_full_catch_up_s"),
        "resume_paced_catch_up_s": med("resume_paced_catch_up_s"),
        # the WAL each resume decoded again before the backlog (slot confirmed - restart)
        "resume_full_redecode_mb": med("resume_full_redecode_mb"),
        "resume_paced_redecode_mb": med("resume_paced_redecode_mb"),
        "cutovers": len(r.get("cutover_lock_ms", [])),
        "end_to_end_s": med("end_to_end_s"),
        "end_to_end_ref_insert_select_indexed_s": med("ref_e2e_insert_select_indexed_s"),
        "cutover_failed_transactions": top("cutover_failed_tx"),
        "cutover_timeouts": sum(r.get("cutover_timeouts", [])),
        # phase saturated: the load without a rate, from before run until the cutover
        "saturated_cut_over": (min(r["sat_cut_over"]) if "sat_cut_over" in r else None),
        "saturated_seconds_to_cutover": med("sat_seconds_to_cutover"),
        "saturated_lag_growth_bytes_per_s": med("sat_lag_growth_bytes_per_s"),
        "native_saturated_lag_growth_bytes_per_s": med("native_sat_lag_growth_bytes_per_s"),
        "saturated_source_tps_ratio": div(med("sat_tps"), med("sat_base_tps")),
        "saturated_follow_tps_ratio": div(med("sat_follow_tps"), med("sat_base_tps")),
        "native_saturated_source_tps_ratio": div(med("native_sat_tps"), med("sat_base_tps")),
        "saturated_lock_ms": top("sat_lock_ms"),
        "saturated_client_latency_ms_max": top("sat_client_max_ms"),
        "saturated_failed_transactions": top("sat_failed_tx"),
        "saturated_base_tps": med("sat_base_tps"),
        "saturated_tps": med("sat_tps"),
        "saturated_follow_tps": med("sat_follow_tps"),
        "native_saturated_tps": med("native_sat_tps"),
        # phase bigtx: one UPDATE of every row, partshift then native (streaming = on)
        "bigtx_after_commit_vs_native": div(med("bigtx_ps_after_commit_s"),
                                            med("bigtx_native_after_commit_s")),
        "bigtx_update_s": med("bigtx_ps_update_s"),
        "bigtx_partshift_after_commit_s": med("bigtx_ps_after_commit_s"),
        "bigtx_native_after_commit_s": med("bigtx_native_after_commit_s"),
        "bigtx_partshift_spill_mb": top("bigtx_ps_spill_mb"),
        "bigtx_partshift_stream_mb": top("bigtx_ps_stream_mb"),
        "bigtx_native_spill_mb": top("bigtx_native_spill_mb"),
        "bigtx_native_stream_mb": top("bigtx_native_stream_mb"),
        "bigtx_partshift_replslot_peak_mb": top("bigtx_ps_replslot_peak_mb"),
        "bigtx_native_replslot_peak_mb": top("bigtx_native_replslot_peak_mb"),
        "bigtx_spool_peak_mb": top("bigtx_ps_spool_peak_mb"),
        "bigtx_peak_rss_mb": top("rss_bigtx_mb"),
    }
    # phase lanes: each K's drain against one lane's, as is and with the slowed backend
    for kind in ("lanes_drain_s", "lanes_slow_drain_s"):
        for k in sorted({int(key.rsplit("_k", 1)[1]) for key in r if key.startswith(kind + "_k")}):
            f["%s_k%d" % (kind, k)] = med("%s_k%d" % (kind, k))
            f["%s_k%d" % (kind.replace("drain_s", "speedup"), k)] = div(
                med(kind + "_k1"), med("%s_k%d" % (kind, k)))
    for size in sorted({k.rsplit("_", 1)[1] for k in r if k.startswith("rsscmp_")}, key=int):
        f["rss_copy_mb_at_" + size] = top("rsscmp_copy_mb_" + size)
        f["rss_replay_mb_at_" + size] = top("rsscmp_replay_mb_" + size)
    sizes = sorted({int(k.rsplit("_", 1)[1]) for k in r if k.startswith("rsscmp_")})
    if len(sizes) >= 2:
        small, large = (max(top("rsscmp_%s_mb_%d" % (p, s)) or 0 for p in ("copy", "replay"))
                        for s in (sizes[0], sizes[-1]))
        f["rss_growth_ratio"] = div(large, small)
    return f


TARGETS = [  # field, what it is, op, bound (issue 7 item 2)
    ("apply_speedup_vs_native", "backlog drain speed vs native logical replication", ">=", 2.0),
    ("copy_vs_insert_select_indexed", "copy+index time / INSERT…SELECT into indexed", "<=", 0.5),
    ("copy_vs_load_then_index", "copy+index time / load then index", "<=", 1.0),
    ("follow_p50_latency_ratio", "client p50 latency, following / no migration", "<=", 1.3),
    ("follow_p99_latency_ratio", "client p99 latency, following / no migration", "<=", 1.5),
    # issue 22: the same in the first window after the copy and after a resume
    ("follow_after_copy_p50_latency_ratio", "client p50 latency, after the copy / none", "<=", 1.3),
    ("follow_after_copy_p99_latency_ratio", "client p99 latency, after the copy / none", "<=", 1.5),
    ("follow_after_resume_p50_latency_ratio", "client p50 latency, after a resume / none", "<=",
     1.3),
    ("follow_after_resume_p99_latency_ratio", "client p99 latency, after a resume / none", "<=",
     1.5),
    ("cutover_lock_ms_max", "cutover lock hold, worst run (ms)", "<=", 50.0),
    ("cutover_client_latency_ms_max", "worst client transaction across cutover (ms)", "<=", 100.0),
    ("end_to_end_vs_insert_select", "run→cutover under load / INSERT…SELECT indexed", "<=", 0.7),
    ("lag_p99_s", "lag p99 while following the load (s)", "<=", 1.0),
    ("peak_rss_mb", "peak RSS, copy and backlog replay (MB)", "<=", 256.0),
    ("rss_growth_ratio", "peak RSS at the largest / smallest --rss-compare size", "<=", 1.25),
    # issue 22: cut over under an unthrottled load, no client transaction lost, within the
    # cutover targets above
    ("saturated_cut_over", "saturated: cut over under the unthrottled load (1 = yes)", ">=", 1.0),
    ("saturated_failed_transactions", "saturated: failed client transactions", "<=", 0.0),
    ("saturated_lock_ms", "saturated: cutover lock hold (ms)", "<=", 50.0),
    ("saturated_client_latency_ms_max", "saturated: worst client transaction across cutover (ms)",
     "<=", 100.0),
]
INFO = [  # reported without a target
    ("trigger_p50_latency_ratio", "client p50 latency, sync trigger / no migration"),
    ("trigger_p99_latency_ratio", "client p99 latency, sync trigger / no migration"),
    ("native_follow_p50_latency_ratio", "client p50 latency, native following / none"),
    ("native_follow_p99_latency_ratio", "client p99 latency, native following / none"),
    ("native_after_resume_p50_latency_ratio", "client p50 latency, native after a resume / none"),
    ("native_after_resume_p99_latency_ratio", "client p99 latency, native after a resume / none"),
    ("source_tps_ratio", "saturated TPS, following / no migration"),
    ("native_source_tps_ratio", "saturated TPS, native following / no migration"),
    ("trigger_tps_ratio", "saturated TPS, sync trigger / no migration"),
    ("lag_p50_s", "lag p50 while following the load (s)"),
    ("cutover_client_latency_2s_window_ms_max", "worst client transaction done within 2 s of it (ms)"),
    ("saturated_seconds_to_cutover", "saturated: run start → swap, less the held follow (s)"),
    ("saturated_source_tps_ratio", "saturated: load TPS while migrating / without"),
    ("saturated_follow_tps_ratio", "saturated: load TPS, partshift following / without"),
    ("native_saturated_source_tps_ratio", "saturated: load TPS, native following / without"),
    ("saturated_lag_growth_bytes_per_s", "saturated: partshift lag growth following (B/s)"),
    ("native_saturated_lag_growth_bytes_per_s", "saturated: native lag growth (B/s)"),
    ("bigtx_after_commit_vs_native", "big transaction: applied after its commit, / native"),
    ("bigtx_partshift_spill_mb", "big transaction: the server spilled for partshift (MB)"),
    ("resume_full_p50_latency_ratio", "pace: client p50 after a resume, full speed / none"),
    ("resume_full_p99_latency_ratio", "pace: client p99 after a resume, full speed / none"),
    ("resume_paced_p50_latency_ratio", "pace: client p50 after a resume, paced / none"),
    ("resume_paced_p99_latency_ratio", "pace: client p99 after a resume, paced / none"),
    ("resume_full_catch_up_s", "pace: backlog caught up after a resume, full speed (s)"),
    ("resume_paced_catch_up_s", "pace: backlog caught up after a resume, paced (s)"),
    ("resume_full_redecode_mb", "pace: WAL decoded again at a resume, full speed's (MB)"),
    ("resume_paced_redecode_mb", "pace: WAL decoded again at a resume, paced's (MB)"),
]


def fmt(v):
    if v is None:
        return "—"
    if float(v).is_integer():
        return "%d" % v
    return "%.0f" % v if abs(v) >= 1000 else "%.2f" % v


def report(args):
    r = read_results(args.results)
    f = derive(r)
    verdicts = {}
    print("%-34s %-52s %9s %8s %s" % ("figure", "what", "measured", "target", "result"))
    print("-" * 114)
    for field, what, op, bound in TARGETS:
        v = f.get(field)
        if v is None and (field == "rss_growth_ratio" or field.startswith("saturated_")):
            continue  # a phase that did not run
        ok = None if v is None else (v >= bound if op == ">=" else v <= bound)
        verdicts[field] = ok
        print("%-34s %-52s %9s %8s %s" % (field, what, fmt(v), op + " " + fmt(bound),
                                          {None: "n/a", True: "PASS", False: "FAIL"}[ok]))
    for field, what in INFO:
        print("%-34s %-52s %9s" % (field, what, fmt(f.get(field))))
    print()
    print("measured: copy partshift %s s vs INSERT…SELECT indexed %s s / load then index %s s; "
          "drain of %s tx partshift %s s vs native %s s" % tuple(fmt(f.get(k)) for k in (
              "partshift_copy_s", "ref_insert_select_indexed_s", "ref_load_then_index_s",
              "backlog_transactions", "partshift_drain_s", "native_drain_s")))
    print("drain CPU seconds: partshift walsender %s, partshift %s, apply backend %s; native "
          "walsender %s, apply worker %s" % tuple(fmt(f.get(k)) for k in (
              "partshift_drain_cpu_walsender_s", "partshift_drain_cpu_partshift_s",
              "partshift_drain_cpu_apply_s", "native_drain_cpu_walsender_s",
              "native_drain_cpu_apply_s")))
    print("following saturated, CPU µs per source transaction: walsender %s, partshift %s, "
          "apply backend %s; native walsender %s, apply worker %s" % tuple(fmt(f.get(k)) for k in (
              "follow_cpu_walsender_us_per_tx", "follow_cpu_partshift_us_per_tx",
              "follow_cpu_apply_us_per_tx", "native_follow_cpu_walsender_us_per_tx",
              "native_follow_cpu_apply_us_per_tx")))
    print("load: saturated %s tx/s (following %s, trigger %s); fixed %s tx/s: p50/p99 ms none "
          "%s/%s, following %s/%s, trigger %s/%s" % tuple(fmt(f.get(k)) for k in (
              "base_tps", "follow_tps", "trigger_tps", "offered_tps", "base_p50_ms", "base_p99_ms",
              "follow_p50_ms", "follow_p99_ms", "trigger_p50_ms", "trigger_p99_ms")))
    print("fixed %s tx/s, p50/p99 ms in the window after the copy %s/%s, after a resume %s/%s" % tuple(
        fmt(f.get(k)) for k in ("offered_tps", "after_copy_p50_ms", "after_copy_p99_ms",
                                "after_resume_p50_ms", "after_resume_p99_ms")))
    print("native logical replication, fixed %s tx/s: p50/p99 ms following %s/%s, after a resume "
          "%s/%s; saturated %s tx/s" % tuple(fmt(f.get(k)) for k in (
              "offered_tps", "native_follow_p50_ms", "native_follow_p99_ms",
              "native_after_resume_p50_ms", "native_after_resume_p99_ms", "native_follow_tps")))
    print("cutover: %s run(s) cut over, %s did not in time; run→cutover %s s (median) vs INSERT…"
          "SELECT indexed %s s at that size; failed client transactions %s; peak RSS copy %s MB, "
          "replay %s MB" % tuple(fmt(f.get(k)) for k in (
              "cutovers", "cutover_timeouts", "end_to_end_s", "end_to_end_ref_insert_select_indexed_s", "cutover_failed_transactions", "peak_rss_copy_mb",
              "peak_rss_replay_mb")))
    if f.get("saturated_cut_over") is not None:
        print("saturated: %s tx/s without a migration; partshift cut over %s (%s s after run, "
              "lock %s ms, worst client %s ms, %s tx/s meanwhile, %s tx/s following, lag growth "
              "%s B/s following, failed tx %s); native following %s tx/s, lag growth %s B/s" % tuple(
                  fmt(f.get(k)) if k != "saturated_cut_over" else
                  ("yes" if f.get(k) else "NO") for k in (
                      "saturated_base_tps", "saturated_cut_over",
                      "saturated_seconds_to_cutover", "saturated_lock_ms",
                      "saturated_client_latency_ms_max", "saturated_tps",
                      "saturated_follow_tps", "saturated_lag_growth_bytes_per_s", "saturated_failed_transactions",
                      "native_saturated_tps", "native_saturated_lag_growth_bytes_per_s")))
    if f.get("bigtx_after_commit_vs_native") is not None:
        print("big transaction (an UPDATE of every row, %s s): applied %s s after its commit "
              "(native %s s); the server spilled %s MB and streamed %s MB for partshift (native "
              "%s / %s), pg_replslot/ peak %s MB (native %s); partshift's spool peak %s MB, RSS "
              "%s MB" % tuple(fmt(f.get(k)) for k in (
                  "bigtx_update_s", "bigtx_partshift_after_commit_s", "bigtx_native_after_commit_s",
                  "bigtx_partshift_spill_mb", "bigtx_partshift_stream_mb", "bigtx_native_spill_mb",
                  "bigtx_native_stream_mb", "bigtx_partshift_replslot_peak_mb",
                  "bigtx_native_replslot_peak_mb", "bigtx_spool_peak_mb", "bigtx_peak_rss_mb")))
    lanes = sorted(int(k.rsplit("_k", 1)[1]) for k in f if k.startswith("lanes_drain_s_k"))
    if lanes:
        print("apply lanes, drain s (speedup vs 1 lane): " + ", ".join(
            "K=%d %s (%s×)" % (k, fmt(f.get("lanes_drain_s_k%d" % k)),
                              fmt(f.get("lanes_speedup_k%d" % k))) for k in lanes) +
              "; slowed backend: " + ", ".join(
            "K=%d %s (%s×)" % (k, fmt(f.get("lanes_slow_drain_s_k%d" % k)),
                              fmt(f.get("lanes_slow_speedup_k%d" % k))) for k in lanes))
    if f.get("resume_paced_p99_ms") is not None:
        print("pace: after a resume at %s tx/s, p50/p99 ms none %s/%s, full speed %s/%s (caught up "
              "in %s s), --catch-up-pace %s %s/%s (caught up in %s s); decoded again at each resume "
              "%s / %s MB" % tuple(fmt(f.get(k)) for k in (
                  "offered_tps", "pace_base_p50_ms", "pace_base_p99_ms", "resume_full_p50_ms",
                  "resume_full_p99_ms", "resume_full_catch_up_s", "pace_percent",
                  "resume_paced_p50_ms", "resume_paced_p99_ms", "resume_paced_catch_up_s",
                  "resume_full_redecode_mb", "resume_paced_redecode_mb")))
    sizes = [k[len("rss_copy_mb_at_"):] for k in f if k.startswith("rss_copy_mb_at_")]
    for s in sizes:
        print("rss-compare %s rows: copy %s MB, replay %s MB" % (
            s, fmt(f["rss_copy_mb_at_" + s]), fmt(f["rss_replay_mb_at_" + s])))
    if args.json:
        out = {k: (None if v is None or math.isnan(v) else int(v) if float(v).is_integer() else v)
               for k, v in f.items()}
        out["targets"] = {k: v for k, v in verdicts.items()}
        for key in ("machine", "command", "quick"):
            if getattr(args, key) is not None:
                out[key] = getattr(args, key)
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, sort_keys=False)
            fh.write("\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--from", dest="start", type=float, default=0.0)
    lat.add_argument("--to", dest="end", type=float, default=float("inf"))
    lat.add_argument("--without-schedule-lag", action="store_true")
    lat.add_argument("--overlapping", action="store_true")
    lat.add_argument("files", nargs="*")
    slp = sub.add_parser("slope")
    slp.add_argument("--from", dest="start", type=float, default=-math.inf)
    slp.add_argument("--to", dest="end", type=float, default=math.inf)
    slp.add_argument("file")
    smp = sub.add_parser("samples")
    smp.add_argument("file")
    rep = sub.add_parser("report")
    rep.add_argument("results")
    rep.add_argument("--json")
    rep.add_argument("--machine")
    rep.add_argument("--command")
    rep.add_argument("--quick", action="store_true", default=None)
    args = p.parse_args()
    if args.cmd == "latency":
        print(summary(latency_ms(args.files, args.start, args.end, args.without_schedule_lag,
                                 args.overlapping)))
    elif args.cmd == "slope":
        v = slope(read_points(args.file, args.start, args.end))
        print("nan" if math.isnan(v) else "%.1f" % v)
    elif args.cmd == "samples":
        with open(args.file) as fh:
            vals = []
            for line in fh:
                try:
                    vals.append(float(line))
                except ValueError:
                    pass
        print(summary(vals))
    else:
        report(args)


if __name__ == "__main__":
    sys.exit(main())
