// table_name: resolves the --table argument through the server's own identifier parser and
// search_path. Must not guess at quoting rules locally, and must not write anything.
#include "partshift/catalog/table_name.hpp"

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::catalog {
namespace {

// Relation kinds that can be named by --table and reported with a precise message later
// (the planner refuses partitioned and foreign tables with its own reason).
constexpr const char* table_kinds = "{r,p,f}";

std::string kind_noun(char relkind) {
    switch (relkind) {
        case 'v':
            return "a view";
        case 'm':
            return "a materialized view";
        case 'S':
            return "a sequence";
        case 'i':
        case 'I':
            return "an index";
        case 'c':
            return "a composite type";
        case 't':
            return "a TOAST table";
        default:
            return "not a table";
    }
}

}  // namespace

qualified_name resolve_table_name(pg::connection& conn, const std::string& text) {
    pg::result parts;
    try {
        // parse_ident folds unquoted parts to lower case and keeps quoted ones verbatim,
        // exactly like the SQL parser; strict mode rejects trailing junk.
        parts = conn.query("SELECT unnest(parse_ident($1, true))", text);
    } catch (const pg::pg_error& e) {
        if (e.is_connection_loss()) throw;
        throw usage_error("invalid table name '" + text + "': " + e.what());
    }
    std::string schema, name;
    switch (parts.rows()) {
        case 1:
            name = parts.get(0, 0);
            break;
        case 2:
            schema = parts.get(0, 0);
            name = parts.get(1, 0);
            break;
        case 3: {
            auto db = conn.exec("SELECT current_database()").get(0, 0);
            if (parts.get(0, 0) != db)
                throw usage_error("table name '" + text + "' names another database than '" + db +
                                  "'");
            schema = parts.get(1, 0);
            name = parts.get(2, 0);
            break;
        }
        default:
            throw usage_error("invalid table name '" + text + "': too many dotted names");
    }

    // One query for both forms: without a schema, the relation SQL would find is the one
    // visible through search_path (pg_table_is_visible), as in pg_dump -t and psql \d.
    auto found = conn.query(
        "SELECT n.nspname, c.relname, c.relkind, c.relkind = ANY ($3::\"char\"[]) AS is_table "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = $2 AND CASE WHEN $1 = '' THEN pg_catalog.pg_table_is_visible(c.oid) "
        "ELSE n.nspname = $1 END",
        schema, name, table_kinds);
    if (found.rows() == 0) throw usage_error("table \"" + text + "\" does not exist");
    if (!found.get_bool(0, "is_table"))
        throw usage_error("\"" + text + "\" is " + kind_noun(found.get(0, "relkind").at(0)) +
                          ", not a table");
    return {found.get(0, "nspname"), found.get(0, "relname")};
}

std::string qualified(const qualified_name& name) {
    if (name.schema.empty()) return pg::quote_ident(name.name);
    return pg::quote_ident(name.schema) + "." + pg::quote_ident(name.name);
}

}  // namespace partshift::catalog
