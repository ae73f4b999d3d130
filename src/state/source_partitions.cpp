// source_partitions: storage and check of the recorded partition tree (see the header).
#include "partshift/state/source_partitions.hpp"

#include "partshift/error.hpp"

namespace partshift::state {

const char* const mark_source_partitions_changed_sql =
    "INSERT INTO partshift.source_partitions (job, relid, member) VALUES ($1, 0, $2) "
    "ON CONFLICT (job, relid) DO NOTHING";

const char* const load_source_partitions_sql =
    "SELECT relid, member FROM partshift.source_partitions WHERE job = $1 ORDER BY relid";

void record_source_partitions(pg::connection& conn, const std::string& job,
                              const std::vector<catalog::partition_member>& members) {
    conn.query("DELETE FROM partshift.source_partitions WHERE job = $1", job);
    for (const auto& m : members)
        conn.query(
            "INSERT INTO partshift.source_partitions (job, relid, member) "
            "VALUES ($1, $2::oid, $3)",
            job, std::to_string(m.oid), catalog::member_text(m));
}

std::vector<catalog::recorded_member> recorded_members(const pg::result& r) {
    std::vector<catalog::recorded_member> out;
    for (int i = 0; i < r.rows(); ++i)
        out.emplace_back(static_cast<uint32_t>(r.get_int(i, "relid")), r.get(i, "member"));
    return out;
}

void check_source_partitions(pg::connection& conn, const std::string& job,
                             const catalog::qualified_name& source) {
    auto r = conn.query(
        "SELECT c.oid, c.relkind = 'p' AS partitioned, format('%I.%I', n.nspname, c.relname) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        source.schema, source.name);
    if (r.rows() == 0 || !r.get_bool(0, 1)) return;
    const auto oid = static_cast<uint32_t>(r.get_int(0, 0));
    auto recorded = recorded_members(conn.query(load_source_partitions_sql, job));
    auto now = catalog::read_partition_tree(conn, oid);
    if (auto change = catalog::describe_tree_change(recorded, now, r.get(0, 2)))
        throw runtime_error(*change);
}

}  // namespace partshift::state
