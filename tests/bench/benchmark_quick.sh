#!/usr/bin/env bash
# ctest "benchmark_quick" (label bench): the CI-sized run of scripts/benchmark.sh, so the harness
# cannot rot. It asserts no timings: only that the run completes and that its JSON has every
# figure of issue 7 as a number. Usage: benchmark_quick.sh PARTSHIFT_BINARY OUTPUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
binary=$1 out=$2
rm -rf "$out" && mkdir -p "$out"
PARTSHIFT_BIN=$binary "$root/scripts/benchmark.sh" --quick --rows 20000 --no-build \
  --lanes 1,2 --lanes-backlog 400 --json "$out/benchmark.json" --logs "$out/logs"
python3 - "$out/benchmark.json" <<'PY'
import json, sys
figures = json.load(open(sys.argv[1]))
required = ["rows", "copy_vs_insert_select_indexed", "copy_vs_load_then_index",
            "apply_speedup_vs_native", "follow_p50_latency_ratio", "follow_p99_latency_ratio",
            "trigger_p50_latency_ratio", "trigger_p99_latency_ratio", "source_tps_ratio",
            "cutover_lock_ms_max", "cutover_client_latency_ms_max", "end_to_end_vs_insert_select",
            "lag_p99_s", "peak_rss_mb", "follow_after_copy_p99_latency_ratio",
            "follow_after_resume_p99_latency_ratio", "native_follow_p99_latency_ratio",
            "native_after_resume_p99_latency_ratio", "native_follow_cpu_apply_us_per_tx",
            "saturated_cut_over",
            "saturated_source_tps_ratio", "saturated_follow_tps_ratio",
            "saturated_lag_growth_bytes_per_s", "native_saturated_lag_growth_bytes_per_s",
            "lanes_speedup_k2", "lanes_slow_speedup_k2", "bigtx_after_commit_vs_native",
            "bigtx_partshift_spill_mb", "bigtx_partshift_stream_mb",
            "resume_full_p99_latency_ratio", "resume_paced_p99_latency_ratio",
            "resume_paced_catch_up_s", "resume_full_redecode_mb", "resume_paced_redecode_mb"]
bad = [k for k in required
       if isinstance(figures.get(k), bool) or not isinstance(figures.get(k), (int, float))]
if bad:
    sys.exit("benchmark JSON: not a number: " + ", ".join("%s=%r" % (k, figures.get(k)) for k in bad))
print("benchmark JSON: all %d figures are numbers" % len(required))
PY
