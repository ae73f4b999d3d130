// next_partitions: the last bound from the catalog; the next ones from plan_level_bounds.
#include "partshift/plan/next_partitions.hpp"

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/bounds.hpp"

namespace partshift::plan {

using pg::fit_identifier;
using pg::quote_ident;

range_partitioning read_range_partitioning(pg::connection& conn,
                                           const catalog::qualified_name& table) {
    const std::string rel = quote_ident(table.schema) + "." + quote_ident(table.name);
    const std::string label = table.schema + "." + table.name;
    auto p = conn.query(
        "SELECT p.partstrat, p.partnatts, coalesce(a.attname, ''), coalesce(a.atttypid, 0), "
        "coalesce(format_type(a.atttypid, a.atttypmod), ''), current_setting('TimeZone') "
        "FROM pg_partitioned_table p LEFT JOIN pg_attribute a ON a.attrelid = p.partrelid "
        "AND a.attnum = p.partattrs[0] WHERE p.partrelid = $1::regclass",
        rel);
    if (p.rows() == 0)
        throw usage_error("--next-partitions: table " + label + " is not partitioned");
    if (p.get(0, 0) != "r" || p.get(0, 1) != "1" || p.get(0, 2).empty())
        throw usage_error("--next-partitions: table " + label +
                          " is not partitioned by RANGE on one column");
    range_partitioning out;
    out.table = table;
    out.key = p.get(0, 2);
    catalog::column column;
    column.type_oid = static_cast<uint32_t>(std::stoul(p.get(0, 3)));
    column.type_name = p.get(0, 4);
    out.type = classify_key_type(column);
    out.timezone = p.get(0, 5);
    // The greatest upper bound, compared as the key's type, printed in ISO style whatever the
    // session's DateStyle (the bounds code reads ISO).
    pg::transaction tx(conn);
    conn.exec("SET LOCAL DateStyle = ISO");
    auto b = conn.query(
        "SELECT max(u::" + column.type_name +
            ")::text FROM ("
            "SELECT (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''?(.*?)''?\\)$'))[1] "
            "AS u FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = $1::regclass) bounds WHERE u IS NOT NULL AND u <> 'MAXVALUE'",
        rel);
    tx.commit();
    if (b.is_null(0, 0))
        throw usage_error("--next-partitions: table " + label +
                          " has no range partition to continue from");
    out.last_upper = b.get(0, 0);
    return out;
}

std::string render_next_partitions(const range_partitioning& range, const level_spec& level,
                                   int count) {
    // The bounds code plans from the data's min to max(max, now) and `premake` more: with all
    // three at the last upper bound, it plans the range starting there and count - 1 more.
    level_facts facts;
    facts.min = range.last_upper;
    facts.max = range.last_upper;
    facts.now = range.last_upper;
    facts.timezone = range.timezone;
    facts.premake = count - 1;
    const auto bounds = plan_level_bounds(level, range.type, facts);
    const std::string parent =
        quote_ident(range.table.schema) + "." + quote_ident(range.table.name);
    std::string out = "-- partshift plan: the next " + std::to_string(count) + " partitions of " +
                      range.table.schema + "." + range.table.name + " (RANGE on " + range.key +
                      ", " +
                      (level.interval ? *level.interval : "step " + level.step.value_or("")) +
                      "), after its last partition, which ends at " + range.last_upper + "\n";
    int made = 0;
    for (const auto& b : bounds) {
        if (b.is_default || made == count) continue;
        const auto name = fit_identifier(range.table.name + "_" + b.label);
        out += "CREATE TABLE IF NOT EXISTS " + quote_ident(range.table.schema) + "." +
               quote_ident(name) + " PARTITION OF " + parent + " " + b.bound_sql + ";\n";
        ++made;
    }
    return out;
}

}  // namespace partshift::plan
