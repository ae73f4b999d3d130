// chunk_sql: string building only. Must not quote (the caller's connection does) and must not
// embed values.
#include "partshift/copy/chunk_sql.hpp"

#include <fmt/ranges.h>

namespace partshift::copy {
namespace {

std::string setting_name(bool upper, size_t i) {
    return std::string(upper ? "partshift.chunk_upper_" : "partshift.chunk_lower_") +
           std::to_string(i + 1);
}

// "(current_setting('…_1')::t1, …)" for one bound.
std::string bound_row(const quoted_copy_spec& spec, bool upper) {
    std::vector<std::string> items;
    for (size_t i = 0; i < spec.key_columns.size(); ++i)
        items.push_back("current_setting('" + setting_name(upper, i) + "')::" + spec.key_types[i]);
    return fmt::format("({})", fmt::join(items, ", "));
}

}  // namespace

std::string describe_bounds(const chunk_bounds& bounds) {
    auto render = [](const std::optional<key_value>& v, const char* unbounded) {
        if (!v) return std::string(unbounded);
        return fmt::format("({})", fmt::join(*v, ", "));
    };
    return "[" + render(bounds.lower, "-inf") + ", " + render(bounds.upper, "+inf") + ")";
}

std::string range_predicate(const quoted_copy_spec& spec, const chunk_bounds& bounds) {
    const std::string key = fmt::format("({})", fmt::join(spec.key_columns, ", "));
    std::vector<std::string> parts;
    if (bounds.lower) parts.push_back(key + " >= " + bound_row(spec, false));
    if (bounds.upper) parts.push_back(key + " < " + bound_row(spec, true));
    if (parts.empty()) return "true";
    return parts.size() == 1 ? parts[0] : parts[0] + " AND " + parts[1];
}

std::string lock_source_sql(const quoted_copy_spec& spec) {
    return "LOCK TABLE " + spec.source + " IN ACCESS SHARE MODE";
}

std::string snapshot_sql(const chunk_bounds& bounds) {
    std::string sql = "SELECT pg_current_wal_insert_lsn()::text";
    int n = 0;
    auto add = [&](const std::optional<key_value>& v, bool upper) {
        if (!v) return;
        for (size_t i = 0; i < v->size(); ++i)
            sql += ", set_config('" + setting_name(upper, i) + "', $" + std::to_string(++n) +
                   ", true)";
    };
    add(bounds.lower, false);
    add(bounds.upper, true);
    return sql;
}

pg::param_list snapshot_params(const chunk_bounds& bounds) {
    pg::param_list params;
    for (const auto* v : {&bounds.lower, &bounds.upper})
        if (*v)
            for (const auto& value : **v) params.emplace_back(value);
    return params;
}

std::string copy_out_sql(const quoted_copy_spec& spec, const chunk_bounds& bounds) {
    return fmt::format("COPY (SELECT {} FROM {} WHERE {}) TO STDOUT (FORMAT binary)",
                       fmt::join(spec.columns, ", "), spec.source, range_predicate(spec, bounds));
}

std::string copy_in_sql(const quoted_copy_spec& spec) {
    return fmt::format("COPY {} ({}) FROM STDIN (FORMAT binary)", spec.target,
                       fmt::join(spec.columns, ", "));
}

std::string insert_select_sql(const quoted_copy_spec& spec, const chunk_bounds& bounds) {
    const std::string columns = fmt::format("{}", fmt::join(spec.columns, ", "));
    return "INSERT INTO " + spec.target + " (" + columns + ") OVERRIDING SYSTEM VALUE SELECT " +
           columns + " FROM " + spec.source + " WHERE " + range_predicate(spec, bounds);
}

std::string min_max_sql(const quoted_copy_spec& spec) {
    const std::string& k = spec.key_columns.at(0);
    return "SELECT min(" + k + ")::text, max(" + k + ")::text FROM " + spec.source;
}

std::string boundary_sample_sql(const quoted_copy_spec& spec) {
    const std::string keys = fmt::format("{}", fmt::join(spec.key_columns, ", "));
    return "SELECT " + text_list(spec.key_columns) + " FROM (SELECT " + keys +
           ", row_number() OVER (ORDER BY " + keys + ") AS partshift_rn FROM " + spec.source +
           ") s WHERE partshift_rn % $1 = 0 ORDER BY partshift_rn";
}

std::string text_list(const std::vector<std::string>& columns) {
    std::string out;
    for (const auto& c : columns) out += (out.empty() ? "" : ", ") + c + "::text";
    return out;
}

bool is_integer_type(const std::string& type_name) {
    return type_name == "smallint" || type_name == "integer" || type_name == "bigint";
}

}  // namespace partshift::copy
