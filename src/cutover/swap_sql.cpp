// swap_sql: renders the swap's statements (see the header). Must not touch a connection or the
// catalog, and must not choose what to carry over; every identifier is quoted here.
#include "partshift/cutover/swap_sql.hpp"

#include <array>
#include <string_view>

#include "partshift/catalog/table_name.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/fk_rules.hpp"

namespace partshift::cutover {
namespace {

using pg::quote_ident;
using pg::quote_literal;

// Privileges aclexplode() can report for a relation (MAINTAIN from PostgreSQL 17; USAGE on a
// sequence, which GRANT ... ON TABLE accepts for one). Anything else is refused: the name is
// pasted into GRANT as a keyword, so it must be one of these.
constexpr std::array<std::string_view, 9> known_privileges = {"SELECT",  "INSERT",   "UPDATE",
                                                              "DELETE",  "TRUNCATE", "REFERENCES",
                                                              "TRIGGER", "MAINTAIN", "USAGE"};

const std::string& checked_privilege(const std::string& privilege) {
    for (auto p : known_privileges)
        if (privilege == p) return privilege;
    throw runtime_error("unknown privilege '" + privilege + "' in an access control list");
}

// privilege_target: "SELECT (col) ON TABLE rel" / "SELECT ON TABLE rel". TABLE also names views,
// materialized views and sequences in GRANT.
std::string privilege_target(const std::string& relation, const catalog::grant& g) {
    std::string s = checked_privilege(g.privilege);
    if (g.column) s += " (" + quote_ident(*g.column) + ")";
    return s + " ON TABLE " + relation;
}

// plain_word: a value that can stand bare in a WITH (...) list.
bool plain_word(const std::string& v) {
    if (v.empty()) return false;
    for (char c : v)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    return true;
}

}  // namespace

std::string relation_sql(const catalog::qualified_name& name) {
    return catalog::qualified(name);
}

std::string rename_sql(const char* kind, const catalog::qualified_name& from,
                       const std::string& to) {
    return std::string("ALTER ") + kind + " " + relation_sql(from) + " RENAME TO " +
           quote_ident(to);
}

std::string owner_sql(const char* kind, const std::string& relation, const std::string& owner) {
    return std::string("ALTER ") + kind + " " + relation + " OWNER TO " + quote_ident(owner);
}

std::string role_sql(const std::string& role) {
    // aclexplode() and the inspector spell the public pseudo-role "PUBLIC"; a real role with
    // that name cannot exist (CREATE ROLE refuses it), so the keyword is unambiguous.
    return role == "PUBLIC" ? role : quote_ident(role);
}

std::string grant_sql(const std::string& relation, const catalog::grant& g) {
    return "GRANT " + privilege_target(relation, g) + " TO " + role_sql(g.grantee) +
           (g.grantable ? " WITH GRANT OPTION" : "");
}

std::string revoke_sql(const std::string& relation, const catalog::grant& g) {
    return "REVOKE " + privilege_target(relation, g) + " FROM " + role_sql(g.grantee);
}

std::string comment_sql(const char* kind, const std::string& object,
                        const std::optional<std::string>& comment) {
    return std::string("COMMENT ON ") + kind + " " + object + " IS " +
           (comment ? quote_literal(*comment) : std::string("NULL"));
}

std::string policy_sql(const std::string& table, const catalog::policy& p) {
    static constexpr std::array<std::string_view, 5> commands = {"ALL", "SELECT", "INSERT",
                                                                 "UPDATE", "DELETE"};
    bool known = false;
    for (auto c : commands) known = known || p.command == c;
    if (!known) throw runtime_error("unknown policy command '" + p.command + "'");
    std::string s = "CREATE POLICY " + quote_ident(p.name) + " ON " + table + " AS " +
                    (p.permissive ? "PERMISSIVE" : "RESTRICTIVE") + " FOR " + p.command + " TO ";
    if (p.roles.empty()) {
        s += "PUBLIC";
    } else {
        for (std::size_t i = 0; i < p.roles.size(); ++i)
            s += (i ? ", " : "") + role_sql(p.roles[i]);
    }
    if (p.using_expr) s += " USING (" + *p.using_expr + ")";
    if (p.check_expr) s += " WITH CHECK (" + *p.check_expr + ")";
    return s;
}

std::string row_security_sql(const std::string& table, bool enabled, bool forced) {
    return "ALTER TABLE " + table + (enabled ? " ENABLE" : " DISABLE") + " ROW LEVEL SECURITY, " +
           (forced ? "FORCE" : "NO FORCE") + " ROW LEVEL SECURITY";
}

std::string trigger_state_sql(const std::string& table, const std::string& trigger, char state) {
    const char* action = nullptr;
    switch (state) {
        case 'O':
            action = " ENABLE TRIGGER ";
            break;
        case 'D':
            action = " DISABLE TRIGGER ";
            break;
        case 'R':
            action = " ENABLE REPLICA TRIGGER ";
            break;
        case 'A':
            action = " ENABLE ALWAYS TRIGGER ";
            break;
        default:
            throw runtime_error(std::string("unknown trigger state '") + state + "' of trigger " +
                                trigger);
    }
    return "ALTER TABLE " + table + action + quote_ident(trigger);
}

std::string replica_identity_sql(const std::string& table, char identity,
                                 const std::string& index) {
    std::string s = "ALTER TABLE " + table + " REPLICA IDENTITY ";
    switch (identity) {
        case 'd':
            return s + "DEFAULT";
        case 'f':
            return s + "FULL";
        case 'n':
            return s + "NOTHING";
        case 'i':
            return s + "USING INDEX " + quote_ident(index);
    }
    throw runtime_error(std::string("unknown replica identity '") + identity + "'");
}

std::string column_statistics_sql(const std::string& table, const std::string& column,
                                  std::optional<int> statistics) {
    return "ALTER TABLE " + table + " ALTER COLUMN " + quote_ident(column) + " SET STATISTICS " +
           std::to_string(statistics.value_or(-1));
}

std::optional<std::string> column_storage_sql(const std::string& table, const std::string& column,
                                              char storage) {
    const char* name = nullptr;
    switch (storage) {
        case 'p':
            name = "PLAIN";
            break;
        case 'e':
            name = "EXTERNAL";
            break;
        case 'm':
            name = "MAIN";
            break;
        case 'x':
            name = "EXTENDED";
            break;
        default:
            return std::nullopt;
    }
    return "ALTER TABLE " + table + " ALTER COLUMN " + quote_ident(column) + " SET STORAGE " + name;
}

std::string options_clause(const std::vector<std::string>& options) {
    if (options.empty()) return "";
    std::string s = " WITH (";
    for (std::size_t i = 0; i < options.size(); ++i) {
        const std::string& o = options[i];
        const auto eq = o.find('=');
        bool name_ok = eq != std::string::npos && eq > 0;
        for (std::size_t k = 0; name_ok && k < eq; ++k)
            name_ok = (o[k] >= 'a' && o[k] <= 'z') || o[k] == '_' || o[k] == '.';
        if (!name_ok) throw runtime_error("cannot render the relation option '" + o + "'");
        const std::string value = o.substr(eq + 1);
        s += (i ? ", " : "") + o.substr(0, eq) + "=" +
             (plain_word(value) ? value : quote_literal(value));
    }
    return s + ")";
}

std::string view_query(const std::string& definition) {
    std::string q = definition;
    while (!q.empty() && (q.back() == ';' || q.back() == ' ' || q.back() == '\n' ||
                          q.back() == '\t' || q.back() == '\r'))
        q.pop_back();
    return q;
}

std::string replace_view_sql(const catalog::qualified_name& name,
                             const std::vector<std::string>& options,
                             const std::string& definition) {
    return "CREATE OR REPLACE VIEW " + relation_sql(name) + options_clause(options) + " AS\n" +
           view_query(definition);
}

std::string create_view_sql(const view_shape& v, const std::string& definition) {
    if (!v.materialized)
        return "CREATE VIEW " + relation_sql(v.name) + options_clause(v.options) + " AS\n" +
               view_query(definition);
    std::string s = "CREATE MATERIALIZED VIEW " + relation_sql(v.name);
    if (v.access_method) s += " USING " + quote_ident(*v.access_method);
    s += options_clause(v.options);
    if (v.tablespace) s += " TABLESPACE " + quote_ident(*v.tablespace);
    return s + " AS\n" + view_query(definition) + (v.populated ? "\nWITH DATA" : "\nWITH NO DATA");
}

std::string drop_view_sql(const catalog::qualified_name& name, bool materialized) {
    return std::string(materialized ? "DROP MATERIALIZED VIEW " : "DROP VIEW ") +
           relation_sql(name);
}

std::string publication_add_sql(const std::string& publication, const std::string& table,
                                const std::optional<std::string>& columns_sql,
                                const std::optional<std::string>& where_sql) {
    std::string s = "ALTER PUBLICATION " + quote_ident(publication) + " ADD TABLE " + table;
    if (columns_sql) s += " (" + *columns_sql + ")";
    if (where_sql) s += " WHERE (" + *where_sql + ")";
    return s;
}

std::string publication_drop_sql(const std::string& publication, const std::string& table) {
    return "ALTER PUBLICATION " + quote_ident(publication) + " DROP TABLE " + table;
}

std::string sequence_settings_sql(const std::string& sequence, const sequence_settings& s) {
    return "ALTER SEQUENCE " + sequence + " INCREMENT BY " + std::to_string(s.increment) +
           " MINVALUE " + std::to_string(s.min) + " MAXVALUE " + std::to_string(s.max) +
           " START WITH " + std::to_string(s.start) + " CACHE " + std::to_string(s.cache) +
           (s.cycle ? " CYCLE" : " NO CYCLE");
}

std::string sequence_owner_sql(const std::string& sequence, const std::string& table,
                               const std::string& column) {
    return "ALTER SEQUENCE " + sequence + " OWNED BY " + table + "." + quote_ident(column);
}

repointed_fk repoint_fk_sql(const catalog::foreign_key& fk, bool add_not_valid) {
    bool was_not_valid = false;
    const std::string def = plan::fk_definition_without_not_valid(fk.definition, &was_not_valid);
    const std::string table = relation_sql(fk.table);
    repointed_fk out;
    out.drop_sql = drop_constraint_sql(fk);
    out.add_sql = "ALTER TABLE " + table + " ADD CONSTRAINT " + quote_ident(fk.name) + " " + def;
    if (add_not_valid || was_not_valid) out.add_sql += " NOT VALID";
    if (add_not_valid && !was_not_valid)
        out.validate_sql = "ALTER TABLE " + table + " VALIDATE CONSTRAINT " + quote_ident(fk.name);
    return out;
}

std::string drop_constraint_sql(const catalog::foreign_key& fk) {
    return "ALTER TABLE " + relation_sql(fk.table) + " DROP CONSTRAINT " + quote_ident(fk.name);
}

}  // namespace partshift::cutover
