// spec_validation: spec vs table model (see the header). Must not parse intervals or compute
// bounds (plan/bounds does), and must not talk to the server.
#include "partshift/plan/spec_validation.hpp"

#include <string>

#include "partshift/error.hpp"

namespace partshift::plan {
namespace {

// Built-in type OIDs (pg_type.dat); stable across PostgreSQL releases.
constexpr uint32_t oid_int2 = 21, oid_int4 = 23, oid_int8 = 20, oid_numeric = 1700;
constexpr uint32_t oid_date = 1082, oid_timestamp = 1114, oid_timestamptz = 1184;
constexpr uint32_t oid_json = 114, oid_xml = 142;

bool starts_with(const std::string& s, std::string_view prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}
bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string table_label(const catalog::table_model& t) {
    return t.name.schema + "." + t.name.name;
}

// has_no_btree_or_hash: types without default btree and hash operator classes, which no
// partitioning method can use (geometric types, json, xml).
bool has_no_btree_or_hash(const catalog::column& c) {
    return c.type_oid == oid_json || c.type_oid == oid_xml || c.type_category == "G" ||
           c.type_name == "json" || c.type_name == "xml";
}

void validate_level(const catalog::table_model& table, const level_spec& level) {
    const catalog::column* col = table.find_column(level.key);
    if (!col)
        throw usage_error("column \"" + level.key + "\" does not exist in table " +
                          table_label(table));
    if (col->generated_expr)
        throw usage_error("column \"" + level.key +
                          "\" is a generated column and cannot be a partition key");
    if (has_no_btree_or_hash(*col))
        throw usage_error("column \"" + level.key + "\" has type " + col->type_name + ", which " +
                          method_name(level.method) + " partitioning cannot use");
    const key_type kt = classify_key_type(*col);
    if (level.method != partition_method::range) return;
    if (level.interval && !is_time_type(kt))
        throw usage_error("--interval needs a date or timestamp column, but \"" + level.key +
                          "\" is " + col->type_name + (is_integer_type(kt) ? " (use --step)" : ""));
    if (level.step && !is_integer_type(kt) && kt != key_type::numeric)
        throw usage_error(
            "--step needs an integer column (smallint, integer, bigint, numeric), "
            "but \"" +
            level.key + "\" is " + col->type_name + (is_time_type(kt) ? " (use --interval)" : ""));
}

}  // namespace

key_type classify_key_type(const catalog::column& c) {
    switch (c.type_oid) {
        case oid_date:
            return key_type::date;
        case oid_timestamp:
            return key_type::timestamp;
        case oid_timestamptz:
            return key_type::timestamptz;
        case oid_int2:
            return key_type::int16;
        case oid_int4:
            return key_type::int32;
        case oid_int8:
            return key_type::int64;
        case oid_numeric:
            return key_type::numeric;
        default:
            break;
    }
    // Domains and hand-built models may lack the base OID; format_type's name still tells.
    const std::string& n = c.type_name;
    if (n == "date") return key_type::date;
    if (starts_with(n, "timestamp") && ends_with(n, "with time zone") &&
        !ends_with(n, "without time zone"))
        return key_type::timestamptz;
    if (starts_with(n, "timestamp")) return key_type::timestamp;
    if (n == "smallint") return key_type::int16;
    if (n == "integer") return key_type::int32;
    if (n == "bigint") return key_type::int64;
    if (starts_with(n, "numeric")) return key_type::numeric;
    return key_type::other;
}

bool is_time_type(key_type t) {
    return t == key_type::date || t == key_type::timestamp || t == key_type::timestamptz;
}

bool is_integer_type(key_type t) {
    return t == key_type::int16 || t == key_type::int32 || t == key_type::int64;
}

void validate_spec(const catalog::table_model& table, const partition_spec& spec) {
    const std::string label = table_label(table);
    switch (table.relkind) {
        case 'r':
        case 'p':  // re-partitioning: copied and streamed through its root (README)
            break;
        case 'f':
            throw usage_error(label + " is a foreign table; only plain tables can be migrated");
        case 'v':
        case 'm':
            throw usage_error(label + " is a view, not a table");
        default:
            throw usage_error(label + " is not a plain table (relkind '" +
                              std::string(1, table.relkind) + "')");
    }
    if (table.persistence == 'u')
        throw usage_error("table " + label +
                          " is unlogged: logical replication cannot capture its changes");
    if (table.persistence == 't')
        throw usage_error("table " + label + " is temporary: other sessions cannot read it");
    if (table.persistence != 'p') throw usage_error("table " + label + " is not a permanent table");

    validate_level(table, spec.level1);
    if (spec.level2) validate_level(table, *spec.level2);
    if (spec.default_partition.value_or(false) && spec.level1.method == partition_method::hash &&
        (!spec.level2 || spec.level2->method == partition_method::hash))
        throw usage_error("hash partitioning has no default partition");
}

}  // namespace partshift::plan
