// table_pair: relkind look-ups by name, with the names as parameters.
#include "partshift/verify/table_pair.hpp"

#include <optional>

#include "partshift/error.hpp"

namespace partshift::verify {
namespace {

std::optional<char> relkind_of(pg::connection& conn, const catalog::qualified_name& name) {
    auto r = conn.query(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        name.schema, name.name);
    if (r.rows() == 0 || r.view(0, 0).empty()) return std::nullopt;
    return r.view(0, 0)[0];
}

// display: the name quoted only where needed, as status and the report print names.
std::string display(pg::connection& conn, const catalog::qualified_name& name) {
    return conn.query("SELECT format('%I.%I', $1::text, $2::text)", name.schema, name.name)
        .get(0, 0);
}

// problem: why `name` cannot play its part, or "" when it can.
std::string problem(pg::connection& conn, const catalog::qualified_name& name,
                    std::optional<char> kind, char wanted) {
    if (!kind) return display(conn, name) + " does not exist";
    if (*kind == wanted) return "";
    return display(conn, name) +
           (wanted == 'p' ? " is not a partitioned table" : " is not a plain table");
}

}  // namespace

table_pair find_table_pair(pg::connection& conn, const state::job_record& job) {
    const catalog::qualified_name source{job.source_schema, job.source_table};
    const catalog::qualified_name target{job.target_schema, job.target_table};
    const catalog::qualified_name final_name{job.source_schema, job.final_name};
    const catalog::qualified_name old_name{job.source_schema, job.old_name};
    auto source_kind = relkind_of(conn, source), target_kind = relkind_of(conn, target);
    auto final_kind = relkind_of(conn, final_name), old_kind = relkind_of(conn, old_name);

    // The catalog decides, not the phase: a cutover interrupted at any point has committed the
    // swap or not, and the relkinds say which.
    if (job.reverse_of) {
        // A revert window's reverse job: NAME is partitioned and NAME_old plain until the swap
        // back; then NAME is the plain original again and the partitioned one is old_name.
        if (source_kind == 'p' && target_kind == 'r') return {target, source, false};
        if (final_kind == 'r' && old_kind == 'p') return {final_name, old_name, true};
        throw runtime_error("job " + job.job + ": cannot find the tables to compare: neither " +
                            display(conn, source) + " (partitioned) with " + display(conn, target) +
                            " nor " + display(conn, final_name) + " with " +
                            display(conn, old_name) + " (partitioned)");
    }
    if (final_kind == 'p' && old_kind == 'r') return {old_name, final_name, true};
    // Re-partitioning: both sides are partitioned; after the swap the target's name is gone.
    if (final_kind == 'p' && old_kind == 'p' && !target_kind) return {old_name, final_name, true};
    if ((source_kind == 'r' || source_kind == 'p') && target_kind == 'p')
        return {source, target, false};

    // Neither arrangement: name what is wrong with the one the phase expects.
    std::string why;
    auto add = [&](const std::string& p) {
        if (!p.empty()) why += (why.empty() ? "" : "; ") + p;
    };
    if (job.phase == state::phase::done) {
        add(problem(conn, final_name, final_kind, 'p'));
        add(problem(conn, old_name, old_kind, 'r'));
    } else {
        add(problem(conn, source, source_kind, 'r'));
        add(problem(conn, target, target_kind, 'p'));
    }
    if (why.empty()) why = "the tables are in neither the before- nor the after-cutover shape";
    throw runtime_error("job " + job.job + ": cannot find the tables to compare: " + why);
}

}  // namespace partshift::verify
