// data_facts: the read-only data queries behind plan::data_facts (one scan per fact, using
// the key's index when there is one). Must not write, and must not decide anything about
// partitions: that is the planner's job.
#include "partshift/plan/data_facts.hpp"

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::plan {

using catalog::column;
using catalog::table_model;

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

// check_value casts one option value to the key column's type on the server.
void check_value(pg::connection& conn, const column& key, const std::string& option,
                 const std::string& value) {
    try {
        // type_name is the server's format_type() output, a valid type expression; the value
        // is a parameter of that type, so the type's input function reads it.
        conn.exec("SELECT $1::" + key.type_name, pg::param_list{value});
    } catch (const pg::pg_error& e) {
        // Class 22 (data exception: bad syntax, out of range) and 23 (a domain's CHECK): the
        // value is wrong. Anything else (a lost connection) is not the user's input.
        const std::string& state = e.sqlstate();
        if (state.rfind("22", 0) != 0 && state.rfind("23", 0) != 0) throw;
        std::string reason = e.what();
        for (auto& ch : reason)
            if (ch == '\n') ch = ' ';
        throw usage_error(option + " value '" + value + "' does not fit column \"" + key.name +
                          "\" of type " + key.type_name + ": " + reason);
    }
}

void check_level_values(pg::connection& conn, const table_model& table,
                        const plan::level_spec& level, const std::string& values_option,
                        const std::string& step_option) {
    const column* key = table.find_column(level.key);
    if (!key) return;  // validate_spec names a missing column
    for (const auto& value : level.values) check_value(conn, *key, values_option, value);
    if (level.step) check_value(conn, *key, step_option, *level.step);
}

}  // namespace

void check_explicit_values(pg::connection& conn, const table_model& table,
                           const plan::partition_spec& spec) {
    check_level_values(conn, table, spec.level1, "--values", "--step");
    if (spec.level2) check_level_values(conn, table, *spec.level2, "--subvalues", "--substep");
}

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

}  // namespace partshift::plan
