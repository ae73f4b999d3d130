// dependents: the catalog reads and the two checks (see the header). Values are parameters.
#include "partshift/plan/dependents.hpp"

#include <fmt/ranges.h>

#include "partshift/catalog/table_name.hpp"

namespace partshift::plan {

dependent_facts read_dependents(pg::connection& conn, const catalog::table_model& table) {
    dependent_facts f;
    // Normal dependencies only: the table's own parts depend on it automatically or
    // internally, except its constraints, defaults, rules, policies, triggers and indexes,
    // which are left out by what they belong to.
    auto r = conn.query(
        "WITH rel AS (SELECT c.oid, c.reltype FROM pg_catalog.pg_class c WHERE c.oid = $1), "
        "deps AS ( "
        "  SELECT d.classid, d.objid, d.objsubid, false AS by_type FROM pg_catalog.pg_depend d "
        "  WHERE d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = $1 "
        "    AND d.deptype = 'n' "
        "  UNION ALL "
        "  SELECT d.classid, d.objid, d.objsubid, true FROM rel, pg_catalog.pg_depend d "
        "  WHERE d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass "
        "    AND d.refobjid = rel.reltype AND d.deptype = 'n'), "
        "own AS ( "
        "  SELECT d.*, CASE d.classid "
        "    WHEN 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN (SELECT x.conrelid "
        "      FROM pg_catalog.pg_constraint x WHERE x.oid = d.objid) "
        "    WHEN 'pg_catalog.pg_attrdef'::pg_catalog.regclass THEN (SELECT x.adrelid "
        "      FROM pg_catalog.pg_attrdef x WHERE x.oid = d.objid) "
        "    WHEN 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN (SELECT x.ev_class "
        "      FROM pg_catalog.pg_rewrite x WHERE x.oid = d.objid) "
        "    WHEN 'pg_catalog.pg_policy'::pg_catalog.regclass THEN (SELECT x.polrelid "
        "      FROM pg_catalog.pg_policy x WHERE x.oid = d.objid) "
        "    WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN (SELECT x.tgrelid "
        "      FROM pg_catalog.pg_trigger x WHERE x.oid = d.objid) "
        "    WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN coalesce((SELECT x.indrelid "
        "      FROM pg_catalog.pg_index x WHERE x.indexrelid = d.objid), d.objid) "
        "    END AS owner_rel FROM deps d) "
        "SELECT DISTINCT pg_catalog.pg_describe_object(o.classid, o.objid, "
        "    CASE WHEN o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
        "         THEN o.objsubid ELSE 0 END) AS description, "
        "  CASE WHEN o.by_type THEN 'row type' "
        "    WHEN o.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass THEN "
        "      CASE WHEN rw.rulename = '_RETURN' THEN 'view' ELSE 'rule' END "
        "    WHEN o.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN "
        "      CASE WHEN p.prosqlbody IS NOT NULL THEN 'sql function' ELSE 'function' END "
        "    WHEN o.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass THEN 'policy' "
        "    WHEN o.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass THEN 'foreign key' "
        "    WHEN o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass THEN 'inheritance' "
        "    ELSE 'other' END AS category, "
        // May partshift replace it: it owns the function, or the relation the rule or policy
        // is on (membership with the owner's rights counts, as PostgreSQL's own check does).
        "  CASE WHEN o.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
        "       THEN pg_catalog.pg_has_role(p.proowner, 'USAGE') "
        "       WHEN o.classid IN ('pg_catalog.pg_rewrite'::pg_catalog.regclass, "
        "                          'pg_catalog.pg_policy'::pg_catalog.regclass) "
        "       THEN pg_catalog.pg_has_role(oc.relowner, 'USAGE') END AS may_replace, "
        "  coalesce(pg_catalog.pg_get_userbyid(p.proowner), "
        "           pg_catalog.pg_get_userbyid(oc.relowner)) AS owner "
        "FROM own o "
        "LEFT JOIN pg_catalog.pg_rewrite rw ON o.classid = "
        "'pg_catalog.pg_rewrite'::pg_catalog.regclass "
        "  AND rw.oid = o.objid "
        "LEFT JOIN pg_catalog.pg_proc p ON o.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass "
        "  AND p.oid = o.objid "
        "LEFT JOIN pg_catalog.pg_class oc ON oc.oid = o.owner_rel "
        "WHERE o.owner_rel IS DISTINCT FROM $1 "
        "ORDER BY 1",
        std::to_string(table.oid));
    for (int i = 0; i < r.rows(); ++i) {
        dependent_object d;
        d.description = r.get(i, "description");
        d.category = r.get(i, "category");
        const auto may = r.opt(i, "may_replace");
        const bool replaceable = may && *may == "t";
        const std::string owner = r.get(i, "owner");
        if (d.category == "view" || d.category == "foreign key") {
            d.carried = true;  // views are replaced or recreated; keys have their own check
        } else if (d.category == "rule" || d.category == "sql function" || d.category == "policy") {
            d.carried = replaceable;
            if (!replaceable) d.why_not = "owned by " + owner + ", partshift cannot replace it";
        } else if (d.category == "row type") {
            d.why_not = "it uses the table's row type, which stays the old table's";
        } else if (d.category == "inheritance") {
            d.why_not = "a child table: it keeps inheriting from the old table";
        } else {
            d.why_not = "partshift does not know how to carry it";
        }
        f.objects.push_back(std::move(d));
    }

    // Not in pg_depend: a function body other than BEGIN ATOMIC is text. Matched on the bare
    // name, case-insensitively: a warning may be spurious, a miss is not.
    auto t = conn.query(
        "SELECT pg_catalog.format('trigger %I on %I.%I runs %s()', tg.tgname, n.nspname, "
        "  c.relname, p.oid::pg_catalog.regproc) "
        "FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_proc p ON p.oid = tg.tgfoid "
        "WHERE NOT tg.tgisinternal AND tg.tgrelid <> $1 "
        "  AND pg_catalog.strpos(pg_catalog.lower(p.prosrc), pg_catalog.lower($2)) > 0 "
        "ORDER BY 1",
        std::to_string(table.oid), table.name.name);
    for (int i = 0; i < t.rows(); ++i) f.naming_triggers.push_back(t.get(i, 0));
    return f;
}

preflight_check evaluate_dependents(const dependent_facts& facts,
                                    const catalog::qualified_name& table, bool accepted) {
    const std::string rel = catalog::qualified(table);
    std::vector<std::string> carried, stuck;
    for (const auto& d : facts.objects) {
        if (d.category == "foreign key") continue;  // inbound_foreign_keys
        if (d.carried)
            carried.push_back(d.description);
        else
            stuck.push_back(d.description + " (" + d.why_not + ")");
    }
    if (stuck.empty())
        return {"dependents", true, false,
                carried.empty() ? "nothing else depends on " + rel
                                : fmt::format("the cutover recreates on the partitioned table: {}",
                                              fmt::join(carried, "; "))};
    const std::string found = fmt::format(
        "the cutover cannot carry over what depends on {}: {}; after it they stay "
        "bound to the old table",
        rel, fmt::join(stuck, "; "));
    if (accepted) return {"dependents", false, false, found + " (accepted)"};
    return {"dependents", false, true,
            found + " — change or drop them first, or accept it (--allow-uncarried-dependents)"};
}

preflight_check evaluate_naming_triggers(const dependent_facts& facts,
                                         const catalog::qualified_name& table) {
    const std::string rel = catalog::qualified(table);
    if (facts.naming_triggers.empty())
        return {"trigger_functions", true, false,
                "no trigger on another table runs a function whose body names " + rel};
    return {"trigger_functions", false, false,
            fmt::format("{}: the function's body names {} in text, which the catalog does not "
                        "link to the table; after the cutover the name reaches the partitioned "
                        "table — check that this is what it expects",
                        fmt::join(facts.naming_triggers, "; "), rel)};
}

}  // namespace partshift::plan
