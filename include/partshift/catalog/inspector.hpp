// inspector: reads one table's definition from the catalog into a table_model (DESIGN.md §1
// step 1). Read-only queries with parameters; SQL fragments come from the server's own
// deparsers (format_type, pg_get_expr, pg_get_indexdef, ...), never rebuilt by hand.
#pragma once

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::catalog {

// inspect_table reads everything table_model holds for `name` (as returned by
// resolve_table_name). Throws usage_error if the table vanished, runtime_error if the server
// prints an index definition in a shape we do not understand. Run it inside one REPEATABLE READ
// transaction when the pieces must agree with each other.
//
// row_estimate: a never-analyzed table has no reltuples; count_when_unknown counts (or samples)
// it, catalog_only reports 0 instead, for callers that read the model under a lock (cutover)
// and must not scan the table.
enum class row_estimate { count_when_unknown, catalog_only };
table_model inspect_table(pg::connection& conn, const qualified_name& name,
                          row_estimate estimate = row_estimate::count_when_unknown);

}  // namespace partshift::catalog
