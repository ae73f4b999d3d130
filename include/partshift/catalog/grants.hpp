// grants: reads one relation's table and column privileges (aclexplode over relacl and attacl)
// into the table model's grant list. The one reader for tables (inspector) and dependent views
// (cutover). Read-only; must not decide what to carry over or render GRANT statements.
#pragma once

#include <cstdint>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::catalog {

// read_grants: the privileges granted on relation `oid` and its columns, ordered by column
// (table-level first), grantee and privilege. The owner's own entries are left out: a new owner
// gets them implicitly, and copying them would name the old owner as grantee.
std::vector<grant> read_grants(pg::connection& conn, uint32_t oid);

}  // namespace partshift::catalog
