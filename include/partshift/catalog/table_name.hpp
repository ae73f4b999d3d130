// table_name: turns the --table argument, written the way SQL writes a table name
// (`billing.events`, `"Order Lines"`, `public."Weird ""name"""`), into the catalog's
// schema and relation name. Parsing is the server's (parse_ident), so quoting and case folding
// are exactly PostgreSQL's; and back (qualified), the way the plan prints it. Reads the catalog
// only; never creates or changes anything.
#pragma once

#include <string>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::catalog {

// resolve_table_name finds the relation `text` names: one part is looked up through the
// user's default search_path (the visible relation, as their SQL would), two parts are schema.name,
// three parts must start with the current database. Throws usage_error for bad syntax
// ("invalid table name ...") and for a name that matches nothing (`table "x" does not exist`).
// Views, sequences and other non-table relations are reported as bad input too.
qualified_name resolve_table_name(pg::connection& conn, const std::string& text);

// qualified renders "schema.name" with both parts through pg::quote_ident (quoted as needed);
// just the name when the schema is empty.
std::string qualified(const qualified_name& name);

}  // namespace partshift::catalog
