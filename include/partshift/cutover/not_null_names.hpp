// not_null_names: PostgreSQL 18 keeps NOT NULL as named pg_constraint rows (contype 'n'), named
// after the table they were made on, so the target's are <target>_<column>_not_null. The swap
// gives them the source's names, as it gives the source's names to the indexes, so the table
// that takes the source's name has the source's constraint names too (pg_dump, a later
// ALTER TABLE ... DROP CONSTRAINT). Before 18 there are no such rows: nothing to read or do.
// Reads only; the rename runs through the swap's runner. Must not touch the old table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::cutover {

struct not_null_rename {
    std::string quoted_from;  // the target's constraint name, quoted
    std::string quoted_to;    // the source's name for the same column's constraint, quoted
};

// read_not_null_renames: the target's NOT NULL constraints whose source column's constraint
// has another name. A column is left out when one of the target's partitions names its
// constraint otherwise (a partition attached with its own): renaming the parent's recurses by
// name and would fail there.
std::vector<not_null_rename> read_not_null_renames(pg::connection& conn, uint32_t source_oid,
                                                   uint32_t target_oid);

// rename_not_null_sql: ALTER TABLE table RENAME CONSTRAINT from TO to (the partitions'
// inherited constraints follow).
std::string rename_not_null_sql(const catalog::qualified_name& table, const not_null_rename& r);

}  // namespace partshift::cutover
