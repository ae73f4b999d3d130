// run_options_reader: run's options → run_request (see the header). Pure: must not connect,
// read files or look at the table; the command does that with what this returns.
#include "partshift/cli/run_options_reader.hpp"

#include <filesystem>

#include "partshift/apply/lane_routing.hpp"
#include "partshift/cli/byte_size.hpp"
#include "partshift/cli/duration.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/partition_options.hpp"
#include "partshift/error.hpp"
#include "partshift/partman/partman_handoff.hpp"
#include "partshift/throttle/throttle_limits.hpp"

namespace partshift::cli {
namespace {

using std::chrono::milliseconds;

std::optional<milliseconds> optional_duration(const po::variables_map& vm, const char* name) {
    if (auto text = optional_string(vm, name)) return parse_duration(*text, name);
    return std::nullopt;
}

// read_duration: a duration option with a floor, read into `into` when given.
template <typename Duration>
void read_duration(const po::variables_map& vm, const char* name, Duration& into,
                   milliseconds floor, const char* floor_text) {
    auto d = optional_duration(vm, name);
    if (!d) return;
    if (*d < floor) throw usage_error(std::string("--") + name + " must be at least " + floor_text);
    into = std::chrono::duration_cast<Duration>(*d);
}

// The --table / --spec choice and the options each excludes.
void check_table_or_spec(const po::variables_map& vm) {
    if (!vm.count("spec")) {
        if (!vm.count("table"))
            throw usage_error("--table NAME or --spec FILE is required (try partshift run --help)");
        return;
    }
    for (const char* option : {"table", "partition-by", "target-name", "old-name", "revert-window"})
        if (vm.count(option))
            throw usage_error(std::string("--") + option + " goes without --spec" +
                              (std::string(option) == "revert-window"
                                   ? " (a multi-table job has no revert window)"
                                   : ": the job file gives each table's own"));
    if (flag(vm, "partman")) throw usage_error("--partman goes without --spec");
}

// A dry run never cuts over: the options that shape a cutover make no sense with it.
void check_dry_run(const po::variables_map& vm) {
    const bool dry_run = flag(vm, "dry-run");
    if (vm.count("dry-run-for") && !dry_run) throw usage_error("--dry-run-for goes with --dry-run");
    if (!dry_run) return;
    for (const char* option :
         {"postpone-cutover", "postpone-cutover-flag", "cutover-terminate-blockers-after"})
        if (vm.count(option) && (std::string(option) != "postpone-cutover" || flag(vm, option)))
            throw usage_error(std::string("--") + option +
                              " goes without --dry-run (a dry run never cuts over)");
}

}  // namespace

cutover::cutover_settings read_cutover_settings(const po::variables_map& vm) {
    cutover::cutover_settings c;
    read_duration(vm, "lock-timeout", c.lock_timeout, milliseconds(1), "1ms");
    read_duration(vm, "max-lock-hold", c.max_lock_hold, milliseconds(10), "10ms");
    if (auto n = optional_string(vm, "cutover-attempts"))
        c.attempts = parse_count(*n, "cutover-attempts", 1, 10000);
    c.terminate_blockers_after = optional_duration(vm, "cutover-terminate-blockers-after");
    c.drop_unrepointable_fks = flag(vm, "drop-unrepointable-fks");
    if (auto when = optional_string(vm, "cutover-when")) {
        if (*when != "lag" && *when != "tail-fits")
            throw usage_error("--cutover-when is lag or tail-fits, not '" + *when + "'");
        c.when_tail_fits = *when == "tail-fits";
    }
    return c;
}

std::optional<std::chrono::milliseconds> read_revert_window(const po::variables_map& vm) {
    auto window = optional_duration(vm, "revert-window");
    if (window && *window < milliseconds(1000))
        throw usage_error("--revert-window must be at least 1s");
    return window;
}

namespace {

void read_cutover(const po::variables_map& vm, migrate::run_options& run) {
    run.cutover = read_cutover_settings(vm);
    if (auto lag = optional_duration(vm, "max-lag")) {
        run.max_lag = *lag;
        run.max_lag_given = true;
    }
    run.dry_run = flag(vm, "dry-run");
    run.dry_run_for = optional_duration(vm, "dry-run-for");
    run.postpone_cutover = flag(vm, "postpone-cutover");
    if (auto file = optional_string(vm, "postpone-cutover-flag"))
        run.postpone_flag_file = std::filesystem::absolute(*file).string();
    run.verify = flag(vm, "verify");
    run.revert_window = read_revert_window(vm);
    if (run.revert_window && run.partman)
        throw usage_error(
            "--partman goes without --revert-window: pg_partman would go on maintaining a table "
            "that 'partshift revert' swaps away; once the window is over, run the same command "
            "with --partman to register it");
}

void read_copy(const po::variables_map& vm, migrate::run_options& run) {
    if (auto n = optional_string(vm, "copy-workers")) {
        run.copy_workers = parse_count(*n, "copy-workers", 1, 64);
        run.copy_workers_given = true;
    }
    if (auto n = optional_string(vm, "apply-workers"))
        run.apply_workers = parse_count(*n, "apply-workers", 1, apply::max_apply_workers);
    const auto method = optional_string(vm, "copy-method").value_or(default_copy_method);
    if (method != "insert" && method != "copy")
        throw usage_error("--copy-method is insert or copy, not '" + method + "'");
    run.copy_through_partshift = method == "copy";
    run.no_origin_filter = flag(vm, "no-origin-filter");
    run.spool_root = optional_string(vm, "spool-dir").value_or(default_spool_dir);
    read_duration(vm, "slot-timeout", run.slot_timeout, milliseconds(1000), "1s");
    read_duration(vm, "reconnect-for", run.reconnect_for, milliseconds(0), "0s");
}

void read_throttling(const po::variables_map& vm, migrate::run_options& run) {
    run.throttle.max_replica_lag = optional_duration(vm, "max-replica-lag");
    if (auto spec = optional_string(vm, "max-load"))
        run.throttle.max_load = throttle::parse_load_spec(*spec);
    run.throttle.throttle_query = optional_string(vm, "throttle-query");
    if (auto rate = optional_string(vm, "max-copy-rate"))
        run.max_copy_rate = throttle::parse_copy_rate(*rate, "max-copy-rate");
    if (auto pace = optional_string(vm, "catch-up-pace"))
        run.catch_up_pace = parse_catch_up_pace(*pace);
    if (auto size = optional_string(vm, "slot-wal-limit"))
        run.slot_wal_limit = parse_size(*size, "slot-wal-limit");
}

void read_hooks_and_metrics(const po::variables_map& vm, migrate::run_options& run) {
    read_duration(vm, "hooks-timeout", run.hooks_timeout, milliseconds(100), "100ms");
    read_duration(vm, "hooks-status-interval", run.status_hook_interval, milliseconds(1000), "1s");
    if (auto dir = optional_string(vm, "hooks-dir"))
        run.hooks_dir = std::filesystem::absolute(*dir).string();
    run.metrics_addr = optional_string(vm, "metrics-addr").value_or("");
    read_duration(vm, "metrics-linger", run.metrics_linger, milliseconds(0), "0s");
}

}  // namespace

run_request read_run_options(const po::variables_map& vm) {
    check_table_or_spec(vm);
    check_dry_run(vm);
    run_request r;
    r.run.dsn = optional_string(vm, "dsn").value_or("");
    r.job = optional_string(vm, "job");
    r.table = optional_string(vm, "table");
    r.spec_file = optional_string(vm, "spec");
    r.run.partman = flag(vm, "partman");
    read_copy(vm, r.run);
    read_cutover(vm, r.run);
    read_throttling(vm, r.run);
    read_hooks_and_metrics(vm, r.run);
    r.run.old_name = optional_string(vm, "old-name").value_or("");
    r.names.target_name = optional_string(vm, "target-name");
    r.run.target_name = r.names.target_name;  // a resumed job refuses another
    if (!r.spec_file) r.spec = partition_spec_from(vm);
    if (r.run.partman) partman::check_spec_for_partman(r.spec);
    r.accepted.drop_unrepointable_fks = r.run.cutover.drop_unrepointable_fks;
    r.accepted.trust_table_owner = flag(vm, "trust-table-owner");
    r.accepted.allow_uncarried_dependents = flag(vm, "allow-uncarried-dependents");
    return r;
}

}  // namespace partshift::cli
