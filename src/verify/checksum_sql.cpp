// checksum_sql: string building only. Must not quote (the caller's connection does) and must not
// embed values.
#include "partshift/verify/checksum_sql.hpp"

#include <fmt/ranges.h>

namespace partshift::verify {
namespace {

std::string key_list(const copy::quoted_copy_spec& spec) {
    return fmt::format("{}", fmt::join(spec.key_columns, ", "));
}

// row_hash: one row's content, every column, as a 64-bit hash of its text form.
std::string row_hash(const copy::quoted_copy_spec& spec) {
    return fmt::format("hashtextextended(ROW({})::text, 0)", fmt::join(spec.columns, ", "));
}

// per_key: one row per key of `table` where `condition` holds, with its number of rows and the
// sum of their hashes (the right table can hold one key twice).
std::string per_key(const copy::quoted_copy_spec& spec, const std::string& table,
                    const std::string& condition) {
    const std::string keys = key_list(spec);
    return "(SELECT " + keys + ", count(*) AS partshift_n, sum(" + row_hash(spec) +
           ") AS partshift_h FROM " + table + " WHERE " + condition + " GROUP BY " + keys + ")";
}

std::string key_sides_columns(const copy::quoted_copy_spec& spec) {
    return copy::text_list(spec.key_columns) +
           ", coalesce(l.partshift_n, 0), coalesce(l.partshift_h, 0)::text, "
           "coalesce(r.partshift_n, 0), coalesce(r.partshift_h, 0)::text";
}

}  // namespace

std::string left_digest_sql(const copy::quoted_copy_spec& spec, const copy::chunk_bounds& bounds) {
    return "SELECT count(*), coalesce(sum(" + row_hash(spec) + "), 0)::text FROM " + spec.source +
           " WHERE " + copy::range_predicate(spec, bounds);
}

std::string right_digest_sql(const copy::quoted_copy_spec& spec, const copy::chunk_bounds& bounds) {
    return "SELECT coalesce(sum(partshift_n), 0)::bigint, coalesce(sum(partshift_h), 0)::text, "
           "count(*) FILTER (WHERE partshift_n > 1) FROM " +
           per_key(spec, spec.target, copy::range_predicate(spec, bounds)) + " partshift_g";
}

std::string duplicate_keys_sql(const copy::quoted_copy_spec& spec,
                               const copy::chunk_bounds& bounds) {
    const std::string keys = key_list(spec);
    return "SELECT " + copy::text_list(spec.key_columns) + ", count(*) FROM " + spec.target +
           " WHERE " + copy::range_predicate(spec, bounds) + " GROUP BY " + keys +
           " HAVING count(*) > 1 ORDER BY " + keys + " LIMIT $1";
}

std::string diff_keys_sql(const copy::quoted_copy_spec& spec, const copy::chunk_bounds& bounds) {
    std::string predicate = copy::range_predicate(spec, bounds);
    const std::string keys = key_list(spec);
    return "SELECT " + key_sides_columns(spec) + " FROM " + per_key(spec, spec.source, predicate) +
           " l FULL JOIN " + per_key(spec, spec.target, predicate) + " r USING (" + keys +
           ") WHERE l.partshift_h IS DISTINCT FROM r.partshift_h OR "
           "l.partshift_n IS DISTINCT FROM r.partshift_n ORDER BY " +
           keys + " LIMIT $1";
}

std::string recheck_keys_sql(const copy::quoted_copy_spec& spec) {
    const std::string keys = key_list(spec);
    std::vector<std::string> arrays;
    for (size_t i = 0; i < spec.key_columns.size(); ++i)
        arrays.push_back("$" + std::to_string(i + 1) + "::" + spec.key_types.at(i) + "[]");
    std::string in_list = "(" + keys + ") IN (SELECT " + keys + " FROM partshift_keys)";
    return "WITH partshift_keys AS (SELECT * FROM unnest(" +
           fmt::format("{}", fmt::join(arrays, ", ")) + ") AS partshift_u(" + keys + ")) SELECT " +
           key_sides_columns(spec) + " FROM partshift_keys LEFT JOIN " +
           per_key(spec, spec.source, in_list) + " l USING (" + keys + ") LEFT JOIN " +
           per_key(spec, spec.target, in_list) + " r USING (" + keys + ") ORDER BY " + keys;
}

}  // namespace partshift::verify
