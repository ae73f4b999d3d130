// partshift plan: prints the partitioned table partshift would create (a psql script, or JSON
// with --json) and the preflight verdict. Wiring only: options → plan_pipeline → renderer.
// Must not change the database (the pipeline runs read-only).
#include <iostream>

#include "partshift/catalog/table_name.hpp"
#include "partshift/cli/commands.hpp"
#include "partshift/cli/job_file.hpp"
#include "partshift/cli/job_name.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/partition_options.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/error.hpp"
#include "partshift/partman/partman_handoff.hpp"
#include "partshift/plan/next_partitions.hpp"
#include "partshift/plan/plan_renderer.hpp"
#include "partshift/plan/preflight.hpp"
#include "partshift/state/job_spec_codec.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::cli {
namespace {

// accepted_options: what the user accepted for preflight on the command line.
plan::preflight_options accepted_options(const po::variables_map& vm) {
    plan::preflight_options o;
    o.drop_unrepointable_fks = flag(vm, "drop-unrepointable-fks");
    o.trust_table_owner = flag(vm, "trust-table-owner");
    o.allow_uncarried_dependents = flag(vm, "allow-uncarried-dependents");
    return o;
}

// next_partitions: plan --next-partitions N. The interval or step is --interval/--step when
// given, else the one the table was partitioned with by its partshift job.
int next_partitions(const po::variables_map& vm) {
    const int count =
        parse_count(vm["next-partitions"].as<std::string>(), "next-partitions", 1, 1000);
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    const auto table = catalog::resolve_table_name(conn, vm["table"].as<std::string>());
    plan::level_spec level;
    if (vm.count("interval")) level.interval = vm["interval"].as<std::string>();
    if (vm.count("step")) level.step = vm["step"].as<std::string>();
    if (!level.interval && !level.step) {
        const std::string job = cli::job_name(optional_string(vm, "job"), std::nullopt, table);
        auto row = state::load_job(conn, job);
        if (!row || row->target_schema != table.schema || row->final_name != table.name)
            throw usage_error("no partshift job partitioned " + table.schema + "." + table.name +
                              " (job " + job + "); give --interval or --step");
        proto::job_spec stored;
        stored.ParseFromString(row->spec);
        level = state::from_proto(stored).level1;
        if (level.method != plan::partition_method::range)
            throw usage_error("job " + job + " partitioned by " + plan::method_name(level.method) +
                              "; --next-partitions is for RANGE partitioning");
    }
    const auto range = plan::read_range_partitioning(conn, table);
    level.method = plan::partition_method::range;
    level.key = range.key;
    std::cout << plan::render_next_partitions(range, level, count);
    return 0;
}

// plan_spec: plan --spec FILE, every table of a multi-table job and the keys between them.
int plan_spec(const po::variables_map& vm) {
    for (const char* option : {"table", "partition-by", "target-name", "next-partitions"})
        if (vm.count(option))
            throw usage_error(std::string("--spec takes the tables and their options from the "
                                          "job file; --") +
                              option + " goes without it");
    if (flag(vm, "partman")) throw usage_error("--partman goes without --spec");
    const auto file = read_job_file(vm["spec"].as<std::string>());
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    const auto tables = resolve_job_tables(conn, file);
    const auto job = job_name(optional_string(vm, "job"), file.job, tables.front());
    auto planned = plan_group_migration(conn, file, tables, job, accepted_options(vm));
    std::cout << (flag(vm, "json")
                      ? plan::render_group_json(planned.job, planned.members, planned.group)
                      : plan::render_group_sql(planned.job, planned.members, planned.group));
    std::cout.flush();
    bool failed = false;
    for (const auto& m : planned.members)
        for (const auto& line :
             plan::fatal_failure_lines(m.checks, false, catalog::qualified(m.table.name) + ": ")) {
            std::cerr << "partshift: " << line << "\n";
            failed = true;
        }
    return failed ? static_cast<int>(exit_code::preflight_failed) : 0;
}

}  // namespace

int command_plan(const arguments& args) {
    const auto parsed = parse_command("plan", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    if (vm.count("spec")) return plan_spec(vm);
    if (!vm.count("table"))
        throw usage_error("--table NAME is required (try partshift plan --help)");
    if (vm.count("next-partitions")) return next_partitions(vm);
    const auto spec = partition_spec_from(vm);
    if (flag(vm, "partman")) partman::check_spec_for_partman(spec);
    plan::plan_names names;
    names.target_name = optional_string(vm, "target-name");

    // An empty conninfo means "PG* environment variables and defaults", as in psql.
    auto conn = connect(optional_string(vm, "dsn").value_or(""));
    auto planned =
        plan_migration(conn, vm["table"].as<std::string>(), spec, names, accepted_options(vm));
    plan::add_coverage_lines(planned.plan, flag(vm, "partman"));
    if (flag(vm, "partman"))
        planned.checks.push_back(partman::partman_preflight(
            partman::find_partman(conn), planned.plan.source.schema, planned.plan.final_name));

    std::cout << (flag(vm, "json")
                      ? plan::render_json(planned.plan, planned.checks, planned.estimate)
                      : plan::render_sql(planned.plan, planned.checks, planned.estimate));
    std::cout.flush();
    // Every failure, one line each: the same list a run refuses with.
    const auto failures = plan::fatal_failure_lines(planned.checks);
    for (const auto& line : failures) std::cerr << "partshift: " << line << "\n";
    return failures.empty() ? 0 : static_cast<int>(exit_code::preflight_failed);
}

}  // namespace partshift::cli
