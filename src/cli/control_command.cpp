// partshift pause | resume | set: live control of a job from any shell. Each writes the job's
// row in partshift.jobs; a running `run` reads it within a second, and the next run starts
// from it. Wiring only.
#include <iostream>

#include "partshift/apply/lane_routing.hpp"
#include "partshift/cli/commands.hpp"
#include "partshift/cli/common_options.hpp"
#include "partshift/cli/duration.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/state/job_controls.hpp"
#include "partshift/state/run_lock.hpp"
#include "partshift/throttle/throttle_limits.hpp"

namespace partshift::cli {
namespace {

// when_applied: how the change reaches the job, for the confirmation line.
std::string when_applied(pg::connection& conn, const std::string& job) {
    return state::run_lock_holder(conn, job)
               ? "the run applies it within a second"
               : "no run of the job is active; the next run starts with it";
}

int pause_or_resume(const arguments& args, bool pause) {
    const auto parsed = parse_command(pause ? "pause" : "resume", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    auto job = resolve_whole_job(conn, optional_string(vm, "job"));
    state::set_copy_paused(conn, job, pause);
    std::cerr << "partshift: copy of job " << job << (pause ? " paused" : " resumed") << " ("
              << when_applied(conn, job) << (pause ? "; the stream and the apply go on)" : ")")
              << "\n";
    return 0;
}

}  // namespace

int command_pause(const arguments& args) {
    return pause_or_resume(args, true);
}

int command_resume(const arguments& args) {
    return pause_or_resume(args, false);
}

int command_set(const arguments& args) {
    const auto parsed = parse_command("set", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    if (!vm.count("max-copy-rate") && !vm.count("max-lag") && !vm.count("copy-workers") &&
        !vm.count("apply-workers") && !vm.count("catch-up-pace"))
        throw usage_error(
            "partshift set needs --max-copy-rate, --max-lag, --copy-workers, --apply-workers or "
            "--catch-up-pace (try partshift set --help)");
    // Parsed before anything is written: a bad value changes nothing.
    std::optional<int> workers;
    if (auto n = optional_string(vm, "copy-workers"))
        workers = parse_count(*n, "copy-workers", 1, 64);
    std::optional<int> lanes;
    if (auto n = optional_string(vm, "apply-workers"))
        lanes = parse_count(*n, "apply-workers", 1, apply::max_apply_workers);
    std::optional<int> pace;
    if (auto p = optional_string(vm, "catch-up-pace")) pace = parse_catch_up_pace(*p);
    std::optional<double> rate;
    std::optional<std::chrono::milliseconds> max_lag;
    if (vm.count("max-copy-rate"))
        rate = throttle::parse_copy_rate(vm["max-copy-rate"].as<std::string>(), "max-copy-rate");
    if (vm.count("max-lag")) max_lag = parse_duration(vm["max-lag"].as<std::string>(), "max-lag");
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    auto job = resolve_whole_job(conn, optional_string(vm, "job"));
    if (rate) state::set_max_copy_rate(conn, job, *rate);
    if (max_lag) state::set_max_lag(conn, job, *max_lag);
    if (workers) state::set_copy_workers(conn, job, *workers);
    if (lanes) state::set_apply_workers(conn, job, *lanes);
    if (pace) state::set_catch_up_pace(conn, job, *pace);
    std::string changes;
    if (rate)
        changes = *rate > 0
                      ? "max copy rate " + std::to_string(static_cast<int64_t>(*rate)) + " rows/s"
                      : "no copy rate ceiling";
    if (max_lag)
        changes += (changes.empty() ? "" : ", ") + std::string("max lag ") +
                   std::to_string(max_lag->count()) + "ms";
    if (workers)
        changes += (changes.empty() ? "" : ", ") + std::to_string(*workers) + " copy workers";
    if (lanes) changes += (changes.empty() ? "" : ", ") + std::to_string(*lanes) + " apply lanes";
    if (pace)
        changes += (changes.empty() ? "" : ", ") + std::string("catch-up pace ") +
                   std::to_string(*pace) + "%" + (*pace >= 100 ? " (full speed)" : "");
    std::cerr << "partshift: job " << job << ": " << changes << " (" << when_applied(conn, job)
              << ")\n";
    return 0;
}

}  // namespace partshift::cli
