// plan_pipeline: runs resolve → inspect → validate → facts → plan → preflight on one read-only
// snapshot. Must not write to the database: the transaction is READ ONLY, so a mistake here
// fails instead of changing anything.
#include "partshift/cli/plan_pipeline.hpp"

#include <algorithm>

#include "partshift/catalog/inspector.hpp"
#include "partshift/catalog/table_name.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/plan/data_facts.hpp"
#include "partshift/plan/preflight.hpp"
#include "partshift/plan/spec_validation.hpp"
#include "partshift/plan/storage_facts.hpp"
#include "partshift/state/schema_trust.hpp"

namespace partshift::cli {

pg::connection connect(const std::string& dsn) {
    try {
        pg::connection conn(dsn);
        // Every command reads or acts on the job rows there: none may use a schema that
        // someone else could have rigged (state/schema_trust.hpp).
        state::require_trusted_schema(conn);
        return conn;
    } catch (const pg::pg_error& e) {
        // libpq's messages can span lines ("connection to server ... failed: ...\n\tIs the
        // server running ...?"); the CLI promises one line.
        std::string message = e.what();
        std::replace(message.begin(), message.end(), '\n', ' ');
        std::replace(message.begin(), message.end(), '\t', ' ');
        throw runtime_error("cannot connect to the database: " + message);
    }
}

planned_migration plan_migration(pg::connection& conn, const std::string& table_text,
                                 const plan::partition_spec& spec, const plan::plan_names& names,
                                 const plan::preflight_options& accepted) {
    return plan_migration(conn, catalog::resolve_table_name(conn, table_text), spec, names,
                          accepted);
}

std::vector<catalog::qualified_name> resolve_job_tables(pg::connection& conn,
                                                        const job_file& file) {
    std::vector<catalog::qualified_name> out;
    for (const auto& t : file.tables) out.push_back(catalog::resolve_table_name(conn, t.table));
    return out;
}

planned_migration plan_migration(pg::connection& conn, const catalog::qualified_name& name,
                                 const plan::partition_spec& spec, const plan::plan_names& names,
                                 const plan::preflight_options& accepted) {
    // REPEATABLE READ: the model, the data facts and the preflight counts come from one
    // snapshot. READ ONLY: `plan` promises to change nothing.
    pg::transaction tx(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    // The planner parses the server's text output of timestamps and intervals; pin the styles
    // it expects for this transaction only.
    conn.exec("SET LOCAL DateStyle = 'ISO, YMD'");
    conn.exec("SET LOCAL IntervalStyle = 'postgres'");
    conn.exec("SET LOCAL extra_float_digits = 3");

    planned_migration out;
    {
        // Validate before reading the data: a wrong column or type should fail fast, not after
        // a scan of a big table. And before the first read of its rows (a never-analyzed
        // table's rows are counted): a role that may not read the table learns that, and every
        // other right it lacks, as a preflight result (exit 3), not as "permission denied".
        const auto model = catalog::inspect_table(conn, name, catalog::row_estimate::catalog_only);
        plan::validate_spec(model, spec);
        plan::require_readable_table(conn, model);
    }
    out.table = catalog::inspect_table(conn, name);
    plan::check_explicit_values(conn, out.table, spec);
    out.facts = plan::gather_data_facts(conn, out.table, spec);
    out.plan = plan::make_plan(out.table, spec, out.facts, names);
    out.checks = plan::run_preflight(conn, out.table, spec, out.plan, accepted);
    out.estimate = plan::estimate_sizes(out.plan, plan::read_storage_facts(conn, out.table));
    if (auto many = plan::partition_count_warning(out.plan)) out.plan.warnings.push_back(*many);
    tx.commit();
    return out;
}

planned_group plan_group_migration(pg::connection& conn, const job_file& file,
                                   const std::vector<catalog::qualified_name>& tables,
                                   const std::string& job,
                                   const plan::preflight_options& accepted) {
    planned_group out;
    for (size_t i = 0; i < file.tables.size(); ++i) {
        const auto& t = file.tables[i];
        plan::plan_names names;
        names.target_name = t.target_name;
        auto planned = plan_migration(conn, tables.at(i), t.spec, names, accepted);
        plan::add_coverage_lines(planned.plan, /*partman=*/false);  // --spec goes without it
        out.members.push_back({std::move(planned.table), std::move(planned.plan),
                               std::move(planned.checks), std::move(planned.estimate)});
    }
    out.job = job;
    out.group = plan::plan_group(out.members, accepted.drop_unrepointable_fks);
    return out;
}

}  // namespace partshift::cli
