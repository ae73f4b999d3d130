// data_facts: the read-only data queries behind plan::data_facts (one scan per fact, using
// the key's index when there is one). Must not write, and must not decide anything about
// partitions: that is the planner's job.
#include "partshift/catalog/data_facts.hpp"

#include "partshift/error.hpp"

namespace partshift::catalog {
namespace {

struct level_target {
    std::optional<std::string>& min;
    std::optional<std::string>& max;
    std::vector<std::string>& values;
};

void gather_level(pg::connection& conn, const std::string& relation, const plan::level_spec& level,
                  const std::string& option_name, level_target out) {
    // The column name is quoted by the server (format %I); the table name arrives quoted.
    const std::string key = conn.query("SELECT format('%I', $1::text)", level.key).get(0, 0);
    switch (level.method) {
        case plan::partition_method::range: {
            // min() and max() use a btree on the key when there is one; NULLs are ignored
            // (preflight reports them separately).
            auto r =
                conn.exec("SELECT min(" + key + ")::text, max(" + key + ")::text FROM " + relation);
            out.min = r.opt(0, 0);
            out.max = r.opt(0, 1);
            break;
        }
        case plan::partition_method::list: {
            if (!level.values.empty()) break;
            // Sorted in the key type's own order (not as text), so partitions come out in a
            // natural order; one more than the limit tells "too many" from "exactly the limit".
            auto r = conn.exec("SELECT v::text FROM (SELECT DISTINCT " + key + " AS v FROM " +
                               relation + " WHERE " + key + " IS NOT NULL ORDER BY 1 LIMIT " +
                               std::to_string(max_discovered_values + 1) + ") d");
            if (static_cast<std::size_t>(r.rows()) > max_discovered_values)
                throw usage_error("column \"" + level.key + "\" has more than " +
                                  std::to_string(max_discovered_values) +
                                  " distinct values; list them with " + option_name +
                                  " or use hash partitioning");
            for (int i = 0; i < r.rows(); ++i) out.values.push_back(r.get(i, 0));
            break;
        }
        case plan::partition_method::hash:
            break;
    }
}

}  // namespace

plan::data_facts gather_data_facts(pg::connection& conn, const table_model& table,
                                   const plan::partition_spec& spec) {
    plan::data_facts facts;
    auto r = conn.query(
        "SELECT format('%I.%I', $1::text, $2::text), now()::text, "
        "current_setting('TimeZone')",
        table.name.schema, table.name.name);
    const std::string relation = r.get(0, 0);
    facts.now = r.get(0, 1);
    facts.timezone = r.get(0, 2);
    gather_level(conn, relation, spec.level1, "--values",
                 {facts.level1_min, facts.level1_max, facts.level1_values});
    if (spec.level2)
        gather_level(conn, relation, *spec.level2, "--subvalues",
                     {facts.level2_min, facts.level2_max, facts.level2_values});
    return facts;
}

}  // namespace partshift::catalog
