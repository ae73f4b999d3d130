// not_null_names: one catalog read and one statement per renamed constraint (see the header).
#include "partshift/cutover/not_null_names.hpp"

#include "partshift/cutover/swap_sql.hpp"

namespace partshift::cutover {

std::vector<not_null_rename> read_not_null_renames(pg::connection& conn, uint32_t source_oid,
                                                   uint32_t target_oid) {
    // Columns are matched by name: the target's attnums need not be the source's (dropped
    // columns). A NOT NULL constraint covers one column (conkey[1]).
    auto r = conn.query(
        "SELECT pg_catalog.format('%I', t.conname), pg_catalog.format('%I', s.conname) "
        "FROM pg_catalog.pg_constraint s "
        "JOIN pg_catalog.pg_attribute sa ON sa.attrelid = s.conrelid AND sa.attnum = s.conkey[1] "
        "JOIN pg_catalog.pg_attribute ta ON ta.attrelid = $2::oid AND ta.attname = sa.attname "
        "JOIN pg_catalog.pg_constraint t ON t.conrelid = $2::oid AND t.contype = 'n' "
        " AND t.conkey[1] = ta.attnum "
        "WHERE s.conrelid = $1::oid AND s.contype = 'n' AND t.conname <> s.conname "
        "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree($2::oid) p "
        " JOIN pg_catalog.pg_attribute pa ON pa.attrelid = p.relid AND pa.attname = ta.attname "
        " JOIN pg_catalog.pg_constraint pc ON pc.conrelid = p.relid AND pc.contype = 'n' "
        "  AND pc.conkey[1] = pa.attnum "
        " WHERE p.relid <> $2::oid AND pc.conname <> t.conname) "
        "ORDER BY t.conname",
        std::to_string(source_oid), std::to_string(target_oid));
    std::vector<not_null_rename> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.get(i, 0), r.get(i, 1)});
    return out;
}

std::string rename_not_null_sql(const catalog::qualified_name& table, const not_null_rename& r) {
    return "ALTER TABLE " + relation_sql(table) + " RENAME CONSTRAINT " + r.quoted_from + " TO " +
           r.quoted_to;
}

}  // namespace partshift::cutover
