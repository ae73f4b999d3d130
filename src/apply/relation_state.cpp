// relation_state: one relation's statements, set-apply abilities and checks. No connection
// here; the applier sends what these build.
#include "partshift/apply/relation_state.hpp"

#include <algorithm>

#include "partshift/apply/row_values.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::apply {

std::string key_text(const pg::param_list& key) {
    std::string out;
    for (const auto& v : key) {
        if (!v) {
            out += "n;";
            continue;
        }
        out += std::to_string(v->size()) + ":" + *v;
    }
    return out;
}

relation_state::relation_state(const catalog::table_model& source_table,
                               catalog::qualified_name target_table,
                               const std::vector<std::string>& partition_columns,
                               std::string skipped_job, bool set_based)
    : source(source_table),
      target(std::move(target_table)),
      skipped_keys_job(std::move(skipped_job)),
      target_sql(sql_builder::for_table(source_table, target)),
      source_sql(sql_builder::for_table(source_table, source_table.name)) {
    sets_supported = set_based && target_sql.supports_sets();
    // Rows of different keys may be applied out of source order only when no other
    // non-deferrable UNIQUE or EXCLUDE index checks them row by row: a set-based UPDATE
    // changes its rows in an order of its own (values swapped between rows, a → b then c → a,
    // would collide), and runs of different kinds sent side by side reorder a delete of x and
    // an insert of y holding x's unique value.
    const catalog::index* key_index = source.apply_key();
    reorder_safe = sets_supported;
    for (const auto& index : source.indexes)
        if (&index != key_index && (index.is_unique || index.is_constraint)) reorder_safe = false;
    const auto& columns = target_sql.columns();
    const auto& key = target_sql.key();
    bool all_in_key = true;
    for (const auto& name : partition_columns) {
        auto it = std::find_if(columns.begin(), columns.end(),
                               [&](const column_def& c) { return c.name == name; });
        if (it == columns.end()) {  // e.g. a generated column: not in the stream
            located_columns.clear();
            return;
        }
        size_t index = static_cast<size_t>(it - columns.begin());
        all_in_key = all_in_key && std::find(key.begin(), key.end(), index) != key.end();
        located_columns.push_back(index);
    }
    // A key that holds every partition key prunes by itself.
    if (all_in_key) located_columns.clear();
}

namespace {

// column_text: "severity" (integer), or the type's oid when its name is unknown.
std::string column_text(const std::string& name, const std::string& type, uint32_t type_oid) {
    return pg::escape_identifier(name) + " (" +
           (type.empty() ? "type oid " + std::to_string(type_oid) : type) + ")";
}

}  // namespace

std::optional<std::string> relation_change_text(const std::string& table, const std::string& job,
                                                const std::vector<column_def>& expected,
                                                const std::vector<stream::relation_column>& now,
                                                const std::vector<std::string>& stream_types) {
    auto stream_column = [&](size_t i) {
        return column_text(now[i].name, i < stream_types.size() ? stream_types[i] : "",
                           now[i].type_oid);
    };
    auto job_column = [&](size_t i) {
        return column_text(expected[i].name, expected[i].type_name, expected[i].type_oid);
    };
    std::string what;
    for (size_t i = 0; i < std::max(expected.size(), now.size()) && what.empty(); ++i) {
        if (i >= now.size())
            // The job's columns are read when the run starts: a column added since the
            // changes being replayed were written (a rerun after ADD COLUMN), or dropped.
            what = "the stream has no column " + job_column(i) +
                   " (added to or dropped from the table during the job)";
        else if (i >= expected.size())
            what = "new column " + stream_column(i);
        else if (now[i].name != expected[i].name || now[i].type_oid != expected[i].type_oid)
            what = "column " + std::to_string(i + 1) + " is now " + stream_column(i) +
                   ", the job has " + job_column(i);
    }
    if (what.empty()) return std::nullopt;
    return "source table " + table + " changed during the job: " + what +
           ". A job cannot follow a change of its table's columns: run 'partshift abort --job " +
           job + "', then run again (the new job copies the columns as they are now)";
}

bool relation_state::matches(const stream::relation_msg& m) const {
    const auto& expected = target_sql.columns();
    if (expected.size() != m.columns.size()) return false;
    for (size_t i = 0; i < expected.size(); ++i)
        if (m.columns[i].name != expected[i].name || m.columns[i].type_oid != expected[i].type_oid)
            return false;
    return true;
}

std::optional<pg::param_list> relation_state::partition_values(const stream::tuple& row,
                                                               const stream::tuple* old_row) const {
    if (located_columns.empty()) return std::nullopt;
    pg::param_list values;
    for (size_t c : located_columns) {
        const auto& value = row[c];
        if (value.k != stream::tuple_value::kind::text) return std::nullopt;  // 'u', NULL
        // A full old row ('O') that shows another value: the row moves; skip the detour.
        if (old_row && (*old_row)[c].k == stream::tuple_value::kind::text &&
            (*old_row)[c].data != value.data)
            return std::nullopt;
        values.push_back(value_param(value));
    }
    return values;
}

std::string relation_state::describe_key(const pg::param_list& key) const {
    return apply::describe_key(target_sql.columns(), target_sql.key(), key);
}

std::string relation_state::describe(const pg::param_list& key) const {
    // The source names the table the user changed; the target is where to look for the row.
    return describe_key(key) + " of " + quote_qualified(source.name) + " (target " +
           quote_qualified(target) + ")";
}

}  // namespace partshift::apply
