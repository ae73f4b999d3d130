// table_name: resolves the --table argument through the server's own identifier parser and
// the user's default search_path. Must not guess at quoting rules locally, and must not write
// anything.
#include "partshift/catalog/table_name.hpp"

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/pg/session_defaults.hpp"

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

// user_search_path sets the session's search_path back to its default (the role's or the
// database's setting, or the server's) while it lives, when `wanted`, and pins partshift's own
// path again on restore() or destruction. Inside a transaction that fails meanwhile, the
// rollback undoes the change by itself.
class user_search_path {
  public:
    user_search_path(pg::connection& conn, bool wanted) : conn_(conn), active_(wanted) {
        if (!active_) return;
        conn_.exec(
            "SELECT pg_catalog.set_config('search_path', s.reset_val, false) "
            "FROM pg_catalog.pg_settings s WHERE s.name OPERATOR(pg_catalog.=) 'search_path'");
    }
    ~user_search_path() {
        try {
            restore();
        } catch (const std::exception&) {
            // Only in a failed transaction, whose rollback restores the pinned path.
        }
    }
    user_search_path(const user_search_path&) = delete;
    user_search_path& operator=(const user_search_path&) = delete;

    void restore() {
        if (!active_) return;
        active_ = false;
        conn_.query("SELECT pg_catalog.set_config('search_path', $1, false)",
                    std::string(pg::pinned_search_path));
    }

  private:
    pg::connection& conn_;
    bool active_;
};

}  // namespace

qualified_name resolve_table_name(pg::connection& conn, const std::string& text) {
    pg::result parts;
    try {
        // parse_ident folds unquoted parts to lower case and keeps quoted ones verbatim,
        // exactly like the SQL parser; strict mode rejects trailing junk.
        parts = conn.query("SELECT pg_catalog.unnest(pg_catalog.parse_ident($1, true))", text);
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

    // Without a schema, the relation meant is the one the user's own SQL would find: the
    // visible one under the role's and database's default search_path (pg_table_is_visible),
    // as in pg_dump -t and psql \d. partshift's sessions run with a pinned path
    // (pg/session_defaults.hpp), so that default is put back for this one statement only, and
    // the statement names every function, operator and type with its schema: under a path that
    // the database's owner chose, nothing here may resolve to an object planted in it.
    user_search_path path(conn, schema.empty());
    auto found = conn.query(
        "SELECT n.nspname, c.relname, c.relkind, "
        "c.relkind OPERATOR(pg_catalog.=) ANY ($3::pg_catalog.\"char\"[]) AS is_table "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        "ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
        "WHERE c.relname OPERATOR(pg_catalog.=) $2 AND CASE WHEN $1 OPERATOR(pg_catalog.=) '' "
        "THEN pg_catalog.pg_table_is_visible(c.oid) ELSE n.nspname OPERATOR(pg_catalog.=) $1 END",
        schema, name, table_kinds);
    path.restore();
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
