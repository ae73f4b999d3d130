// dependent_views: capture before the renames, replace or recreate after them (see the header).
// Reads with parameters only; executes only through swap_runner; never CASCADE.
#include "partshift/cutover/dependent_views.hpp"

#include <algorithm>
#include <set>

#include "partshift/catalog/grants.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::cutover {
namespace {

char first_char(const pg::result& r, int row, int col) {
    auto v = r.view(row, col);
    return v.empty() ? '\0' : v.front();
}

void read_view(pg::connection& conn, captured_view& v) {
    auto r = conn.query(
        "SELECT pg_catalog.pg_get_viewdef(c.oid) AS def, "
        "  pg_catalog.pg_get_userbyid(c.relowner) AS owner, "
        "  pg_catalog.obj_description(c.oid, 'pg_class') AS comment, c.relispopulated, "
        "  ts.spcname, am.amname "
        "FROM pg_catalog.pg_class c "
        "LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = c.reltablespace "
        "LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam "
        "WHERE c.oid = $1::oid",
        v.oid);
    v.definition = r.get(0, "def");
    v.owner = r.get(0, "owner");
    v.comment = r.opt(0, "comment");
    v.shape.populated = r.get_bool(0, "relispopulated");
    v.shape.tablespace = r.opt(0, "spcname");
    if (auto am = r.opt(0, "amname"); am && *am != "heap") v.shape.access_method = am;

    // One row per option: unnest() keeps values with commas or quotes intact.
    auto o = conn.query(
        "SELECT o FROM pg_catalog.pg_class c, unnest(c.reloptions) WITH ORDINALITY u(o, ord) "
        "WHERE c.oid = $1::oid ORDER BY ord",
        v.oid);
    for (int i = 0; i < o.rows(); ++i) v.shape.options.push_back(o.get(i, 0));

    auto cols = conn.query(
        "SELECT a.attname, pg_catalog.col_description(a.attrelid, a.attnum) AS comment, "
        "  pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS def "
        "FROM pg_catalog.pg_attribute a "
        "LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
        "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        v.oid);
    for (int i = 0; i < cols.rows(); ++i) {
        if (auto c = cols.opt(i, 1)) v.column_comments.emplace_back(cols.get(i, 0), *c);
        if (auto d = cols.opt(i, 2)) v.column_defaults.emplace_back(cols.get(i, 0), *d);
    }

    v.grants = catalog::read_grants(conn, v.oid);

    auto idx = conn.query(
        "SELECT pg_catalog.pg_get_indexdef(i.indexrelid), "
        "  format('%I.%I', n.nspname, ic.relname), "
        "  pg_catalog.obj_description(i.indexrelid, 'pg_class') "
        "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace "
        "WHERE i.indrelid = $1::oid ORDER BY ic.relname",
        v.oid);
    for (int i = 0; i < idx.rows(); ++i) {
        v.index_sql.push_back(idx.get(i, 0));
        if (auto c = idx.opt(i, 2))
            v.index_comment_sql.push_back(comment_sql("INDEX", idx.get(i, 1), c));
    }

    auto trg = conn.query(
        "SELECT tgname, pg_catalog.pg_get_triggerdef(oid), tgenabled FROM pg_catalog.pg_trigger "
        "WHERE tgrelid = $1::oid AND NOT tgisinternal ORDER BY tgname",
        v.oid);
    for (int i = 0; i < trg.rows(); ++i) {
        catalog::trigger t;
        t.name = trg.get(i, 0);
        t.definition = trg.get(i, 1);
        t.enabled_state = first_char(trg, i, 2);
        t.enabled = t.enabled_state != 'D';
        v.triggers.push_back(std::move(t));
    }

    auto rules = conn.query(
        "SELECT pg_catalog.pg_get_ruledef(oid) FROM pg_catalog.pg_rewrite "
        "WHERE ev_class = $1::oid AND rulename <> '_RETURN' ORDER BY rulename",
        v.oid);
    for (int i = 0; i < rules.rows(); ++i) v.rule_sql.push_back(view_query(rules.get(i, 0)));

    auto reads = conn.query(
        "SELECT DISTINCT d.refobjid FROM pg_catalog.pg_rewrite rw "
        "JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass "
        "  AND d.objid = rw.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass "
        "WHERE rw.ev_class = $1::oid AND rw.rulename = '_RETURN' AND d.refobjid <> $1::oid",
        v.oid);
    for (int i = 0; i < reads.rows(); ++i)
        v.reads.push_back(static_cast<uint32_t>(reads.get_int(i, 0)));
}

// mark_recreated: materialized views, and every view that reads one being recreated (a view
// cannot outlive the relation it reads, so it is dropped and created again too).
void mark_recreated(std::vector<captured_view>& views) {
    std::set<uint32_t> recreated;
    for (auto& v : views)
        if (v.shape.materialized) {
            v.recreate = true;
            recreated.insert(v.oid);
        }
    for (bool changed = true; changed;) {
        changed = false;
        for (auto& v : views) {
            if (v.recreate) continue;
            for (uint32_t r : v.reads)
                if (recreated.count(r)) {
                    v.recreate = true;
                    recreated.insert(v.oid);
                    changed = true;
                    break;
                }
        }
    }
}

}  // namespace

std::vector<captured_view> capture_views(pg::connection& conn, const catalog::table_model& table,
                                         std::vector<std::string>& skipped) {
    std::vector<captured_view> out;
    for (const auto& dv : table.dependent_views) {
        auto facts = find_relation(conn, dv.name);
        // A table with a rule that reads the table: the rule is carried with the other
        // dependents (dependent_objects), the table itself is no view to replace.
        if (facts && facts->relkind != 'v' && facts->relkind != 'm') continue;
        if (!facts) {
            skipped.push_back("relation " + dv.name.schema + "." + dv.name.name +
                              " that depends on the table is gone");
            continue;
        }
        captured_view v;
        v.shape.name = dv.name;
        v.shape.materialized = facts->relkind == 'm';
        v.oid = facts->oid;
        v.depth = dv.depth;
        read_view(conn, v);
        out.push_back(std::move(v));
    }
    // The inspector orders by depth already; keep it explicit, creation order depends on it.
    std::stable_sort(out.begin(), out.end(), [](const captured_view& a, const captured_view& b) {
        return a.depth < b.depth;
    });
    mark_recreated(out);
    return out;
}

std::vector<std::string> view_statements(const captured_view& v) {
    const std::string rel = relation_sql(v.shape.name);
    if (!v.recreate) return {replace_view_sql(v.shape.name, v.shape.options, v.definition)};

    const char* kind = v.shape.materialized ? "MATERIALIZED VIEW" : "VIEW";
    std::vector<std::string> out;
    // A materialized view is created empty and filled by REFRESH after its owner is set, so its
    // query runs with the owner's privileges, as every earlier REFRESH did.
    view_shape shape = v.shape;
    shape.populated = false;
    out.push_back(create_view_sql(shape, v.definition));
    out.push_back(owner_sql(kind, rel, v.owner));
    for (const auto& g : v.grants) out.push_back(grant_sql(rel, g));
    if (v.comment) out.push_back(comment_sql(kind, rel, v.comment));
    for (const auto& [column, text] : v.column_comments)
        out.push_back(comment_sql("COLUMN", rel + "." + pg::quote_ident(column), text));
    for (const auto& [column, expr] : v.column_defaults)
        out.push_back("ALTER VIEW " + rel + " ALTER COLUMN " + pg::quote_ident(column) +
                      " SET DEFAULT " + expr);
    for (const auto& sql : v.index_sql) out.push_back(sql);
    for (const auto& sql : v.index_comment_sql) out.push_back(sql);
    for (const auto& t : v.triggers) {
        out.push_back(t.definition);
        if (t.enabled_state != 'O') out.push_back(trigger_state_sql(rel, t.name, t.enabled_state));
    }
    for (const auto& sql : v.rule_sql) out.push_back(sql);
    return out;
}

std::optional<std::string> refresh_sql(const captured_view& v) {
    if (!v.recreate || !v.shape.materialized || !v.shape.populated) return std::nullopt;
    return "REFRESH MATERIALIZED VIEW " + relation_sql(v.shape.name);
}

void carry_views(swap_runner& run, const std::vector<captured_view>& views,
                 const std::string& search_path) {
    run.step("drop views to recreate");
    for (auto it = views.rbegin(); it != views.rend(); ++it)
        if (it->recreate) run.exec(drop_view_sql(it->shape.name, it->shape.materialized));
    for (const auto& v : views) {
        const std::string what =
            std::string(v.shape.materialized ? "materialized view " : "view ") +
            relation_sql(v.shape.name);
        run.step((v.recreate ? "recreate " : "replace ") + what);
        for (const auto& sql : view_statements(v)) run.exec(sql);
        run.note((v.recreate ? "recreated " : "replaced ") + what + " on the partitioned table");
    }
    // Filled last, in dependency order, under the session's own search_path: the functions a
    // materialized view calls ran under it at every earlier REFRESH. This runs the views'
    // queries under the swap's lock: the cost of a populated materialized view is paid while
    // the application waits (table_swap's callers are told so).
    bool path_set = false;
    for (const auto& v : views) {
        auto sql = refresh_sql(v);
        if (!sql) continue;
        run.step("refresh materialized view " + relation_sql(v.shape.name));
        if (!path_set)
            run.exec("SELECT pg_catalog.set_config('search_path', $1, true)",
                     pg::make_params(search_path));
        path_set = true;
        run.exec(*sql);
        run.note("refreshed materialized view " + relation_sql(v.shape.name));
    }
    if (path_set) run.exec("SET LOCAL search_path = ''");
}

}  // namespace partshift::cutover
