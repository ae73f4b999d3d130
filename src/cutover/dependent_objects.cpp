// dependent_objects: capture before the renames, carry after them (see the header). Reads
// with parameters only; executes only through swap_runner.
#include "partshift/cutover/dependent_objects.hpp"

#include <algorithm>

#include "partshift/cutover/swap_sql.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::cutover {
namespace {

std::vector<own_rule> read_own_rules(pg::connection& conn, uint32_t oid) {
    auto r = conn.query(
        "SELECT rulename, pg_catalog.pg_get_ruledef(oid), ev_enabled FROM pg_catalog.pg_rewrite "
        "WHERE ev_class = $1::oid AND rulename <> '_RETURN' ORDER BY rulename",
        std::to_string(oid));
    std::vector<own_rule> out;
    for (int i = 0; i < r.rows(); ++i) {
        const auto state = r.get(i, 2);
        out.push_back({r.get(i, 0), r.get(i, 1), state.empty() ? 'O' : state[0]});
    }
    return out;
}

// The objects of catalog class $2 that depend (normally) on relation $1, less its own.
const char* const depending_on =
    "SELECT DISTINCT d.objid FROM pg_catalog.pg_depend d "
    "WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1::oid "
    "  AND d.deptype = 'n' AND d.classid = $2::pg_catalog.regclass";

}  // namespace

captured_dependents capture_dependents(pg::connection& conn, uint32_t source_oid,
                                       uint32_t target_oid) {
    captured_dependents c;
    c.source_rules = read_own_rules(conn, source_oid);
    c.target_rules = read_own_rules(conn, target_oid);
    const auto oid = std::to_string(source_oid);
    // A view's own query is carried with the view (dependent_views); its other rules here.
    auto rules = conn.query(
        std::string("SELECT pg_catalog.pg_get_ruledef(rw.oid) FROM pg_catalog.pg_rewrite rw "
                    "JOIN pg_catalog.pg_class c ON c.oid = rw.ev_class "
                    "WHERE rw.oid IN (") +
            depending_on +
            ") AND rw.ev_class <> $1::oid AND rw.rulename <> '_RETURN' AND c.relkind <> 'm' "
            "ORDER BY rw.ev_class, rw.rulename",
        oid, "pg_catalog.pg_rewrite");
    for (int i = 0; i < rules.rows(); ++i)
        c.other_rules.push_back(or_replace_rule(rules.get(i, 0)));
    auto policies = conn.query(
        std::string(
            "SELECT n.nspname, cl.relname, p.polname, "
            "  pg_catalog.pg_get_expr(p.polqual, p.polrelid), "
            "  pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) "
            "FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class cl ON cl.oid = p.polrelid "
            "JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace "
            "WHERE p.oid IN (") +
            depending_on + ") AND p.polrelid <> $1::oid ORDER BY 1, 2, 3",
        oid, "pg_catalog.pg_policy");
    for (int i = 0; i < policies.rows(); ++i)
        c.policies.push_back({{policies.get(i, 0), policies.get(i, 1)},
                              policies.get(i, 2),
                              policies.opt(i, 3),
                              policies.opt(i, 4)});
    // Only BEGIN ATOMIC bodies are bound to the table; other bodies look its name up again.
    auto functions = conn.query(
        std::string("SELECT pg_catalog.pg_get_functiondef(p.oid), p.oid::pg_catalog.regprocedure "
                    "FROM pg_catalog.pg_proc p WHERE p.oid IN (") +
            depending_on +
            ") AND p.prosqlbody IS NOT NULL "
            // One whose signature uses the row type cannot be replaced (its types would
            // change); preflight names it, and it stays as it is.
            "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend t "
            "  WHERE t.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND t.objid = p.oid "
            "    AND t.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass "
            "    AND t.refobjid = (SELECT c.reltype FROM pg_catalog.pg_class c "
            "                      WHERE c.oid = $1::oid)) "
            "ORDER BY p.oid",
        oid, "pg_catalog.pg_proc");
    for (int i = 0; i < functions.rows(); ++i) {
        c.functions.push_back(functions.get(i, 0));
        c.function_names.push_back(functions.get(i, 1));
    }
    return c;
}

std::string or_replace_rule(const std::string& ruledef) {
    const std::string prefix = "CREATE RULE ";
    if (ruledef.rfind(prefix, 0) != 0) return ruledef;
    return "CREATE OR REPLACE RULE " + ruledef.substr(prefix.size());
}

std::string alter_policy_sql(const other_policy& p) {
    std::string sql = "ALTER POLICY " + pg::quote_ident(p.name) + " ON " + relation_sql(p.table);
    if (p.using_expr) sql += " USING (" + *p.using_expr + ")";
    if (p.check_expr) sql += " WITH CHECK (" + *p.check_expr + ")";
    return sql;
}

std::optional<std::string> rule_state_sql(const std::string& table, const std::string& rule,
                                          char state) {
    const char* how = state == 'D'   ? "DISABLE RULE "
                      : state == 'R' ? "ENABLE REPLICA RULE "
                      : state == 'A' ? "ENABLE ALWAYS RULE "
                                     : nullptr;
    if (!how) return std::nullopt;
    return "ALTER TABLE " + table + " " + how + pg::quote_ident(rule);
}

void carry_dependents(swap_runner& run, const captured_dependents& c,
                      const catalog::qualified_name& table) {
    const std::string rel = relation_sql(table);
    run.step("rules");
    for (const auto& r : c.source_rules) {
        const bool present = std::any_of(c.target_rules.begin(), c.target_rules.end(),
                                         [&](auto& t) { return t.name == r.name; });
        if (present) continue;
        // The definition names the source by its name, which is now the partitioned table's.
        run.exec(r.definition);
        if (auto sql = rule_state_sql(rel, r.name, r.enabled)) run.exec(*sql);
        run.note("rule " + r.name + " created on " + rel);
    }
    for (const auto& sql : c.other_rules) run.exec(sql);
    if (!c.other_rules.empty())
        run.note(std::to_string(c.other_rules.size()) +
                 " rules on other relations replaced: they use the partitioned table");
    run.step("policies on other tables");
    for (const auto& p : c.policies) {
        run.exec(alter_policy_sql(p));
        run.note("policy " + p.name + " on " + relation_sql(p.table) +
                 " reads the partitioned table");
    }
    run.step("functions");
    for (size_t i = 0; i < c.functions.size(); ++i) {
        run.exec(c.functions[i]);
        run.note("function " + c.function_names[i] + " replaced: it uses the partitioned table");
    }
}

}  // namespace partshift::cutover
