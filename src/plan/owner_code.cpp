// owner_code: finds the functions of a table's owner that partshift's work would evaluate with
// partshift's rights, and judges them. The catalog walk is one read-only query; the verdict is
// a pure function of what it read. Must not create, alter or lock anything.
#include "partshift/plan/owner_code.hpp"

#include "partshift/catalog/table_name.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::plan {

using catalog::qualified;
using pg::quote_ident;
namespace {

// What the work evaluates, seeded from the table and every relation below it:
//   - CHECK and exclusion constraints, defaults and generated columns (the copy and the
//     applier write the target, which has them);
//   - indexes: expressions, predicates, and their operator classes (the index builds);
//   - triggers and rules that fire with session_replication_role = replica (ENABLE ALWAYS or
//     ENABLE REPLICA), the only ones partshift's writing sessions fire;
//   - policies;
//   - the column types: domains and their CHECKs, composite and array element types.
// From there, forward dependencies (pg_depend: what each object needs), plus what pg_depend
// records the other way round or not at all: a domain's constraints depend on the domain, a
// composite type's relation on the type, an operator family's members on the family. Walks
// into tables stop (an index depends on its table's columns; the table's own seeds cover
// them); operator classes are seeded per index so their functions are named as such.
// A function is trusted when a superuser or the running role owns it, or it is built in.
constexpr const char* untrusted_functions_sql = R"sql(
WITH RECURSIVE
rel AS (
  SELECT $1::pg_catalog.oid AS oid
  UNION SELECT relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid::pg_catalog.regclass)
),
seed(classid, objid, label) AS (
  SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, c.oid,
         CASE c.contype WHEN 'c' THEN 'CHECK constraint ' ELSE 'exclusion constraint ' END
           || pg_catalog.quote_ident(c.conname)
  FROM pg_catalog.pg_constraint c
  WHERE c.conrelid IN (SELECT oid FROM rel) AND c.contype IN ('c', 'x')
  UNION ALL
  SELECT 'pg_catalog.pg_attrdef'::pg_catalog.regclass, d.oid,
         CASE WHEN a.attgenerated <> '' THEN 'generated column ' ELSE 'default of column ' END
           || pg_catalog.quote_ident(a.attname)
  FROM pg_catalog.pg_attrdef d
  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  WHERE d.adrelid IN (SELECT oid FROM rel)
  UNION ALL
  SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, i.indexrelid,
         'index ' || pg_catalog.quote_ident(ic.relname)
           || CASE WHEN i.indexprs IS NOT NULL AND i.indpred IS NOT NULL
                   THEN ' expression or predicate'
                   WHEN i.indexprs IS NOT NULL THEN ' expression'
                   WHEN i.indpred IS NOT NULL THEN ' predicate' ELSE '' END
  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indrelid IN (SELECT oid FROM rel)
  UNION ALL
  SELECT 'pg_catalog.pg_opclass'::pg_catalog.regclass, o.opc,
         'index ' || pg_catalog.quote_ident(ic.relname) || ' operator class '
           || pg_catalog.quote_ident(oc.opcname)
  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
  CROSS JOIN LATERAL pg_catalog.unnest(i.indclass::pg_catalog.oid[]) o(opc)
  JOIN pg_catalog.pg_opclass oc ON oc.oid = o.opc
  WHERE i.indrelid IN (SELECT oid FROM rel)
  UNION ALL
  SELECT 'pg_catalog.pg_trigger'::pg_catalog.regclass, t.oid,
         'trigger ' || pg_catalog.quote_ident(t.tgname)
  FROM pg_catalog.pg_trigger t
  WHERE t.tgrelid IN (SELECT oid FROM rel) AND NOT t.tgisinternal AND t.tgenabled IN ('A', 'R')
  UNION ALL
  SELECT 'pg_catalog.pg_rewrite'::pg_catalog.regclass, r.oid,
         'rule ' || pg_catalog.quote_ident(r.rulename)
  FROM pg_catalog.pg_rewrite r
  WHERE r.ev_class IN (SELECT oid FROM rel) AND r.ev_enabled IN ('A', 'R')
  UNION ALL
  SELECT 'pg_catalog.pg_policy'::pg_catalog.regclass, p.oid,
         'policy ' || pg_catalog.quote_ident(p.polname)
  FROM pg_catalog.pg_policy p WHERE p.polrelid IN (SELECT oid FROM rel)
  UNION ALL
  SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, a.atttypid,
         'column ' || pg_catalog.quote_ident(a.attname) || ' (type '
           || pg_catalog.format_type(a.atttypid, NULL) || ')'
  FROM pg_catalog.pg_attribute a
  WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0 AND NOT a.attisdropped
),
reach(classid, objid, label) AS (
  SELECT classid, objid, label FROM seed
  UNION
  SELECT n.classid, n.objid, r.label
  FROM reach r
  CROSS JOIN LATERAL (
    SELECT d.refclassid, d.refobjid FROM pg_catalog.pg_depend d
    WHERE d.classid = r.classid AND d.objid = r.objid AND d.deptype IN ('n', 'a', 'i')
      AND d.refclassid <> 'pg_catalog.pg_class'::pg_catalog.regclass
      AND NOT (d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
               AND d.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass)
    UNION ALL
    SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid
    FROM pg_catalog.pg_type t JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
    WHERE r.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = r.objid
      AND c.relkind = 'c'
    UNION ALL
    SELECT 'pg_catalog.pg_constraint'::pg_catalog.regclass, c.oid
    FROM pg_catalog.pg_constraint c
    WHERE r.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND c.contypid = r.objid
    UNION ALL
    SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, o.oprcode::pg_catalog.oid
    FROM pg_catalog.pg_operator o
    WHERE r.classid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = r.objid
    UNION ALL
    SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, oc.opcfamily
    FROM pg_catalog.pg_opclass oc
    WHERE r.classid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND oc.oid = r.objid
    UNION ALL
    SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, ap.amproc::pg_catalog.oid
    FROM pg_catalog.pg_amproc ap
    WHERE r.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND ap.amprocfamily = r.objid
    UNION ALL
    SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, ao.amopopr
    FROM pg_catalog.pg_amop ao
    WHERE r.classid = 'pg_catalog.pg_opfamily'::pg_catalog.regclass AND ao.amopfamily = r.objid
  ) n(classid, objid)
)
SELECT pg_catalog.quote_ident(ns.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '('
         || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS function,
       pg_catalog.pg_get_userbyid(p.proowner) AS owner,
       pg_catalog.array_to_string(pg_catalog.array_agg(DISTINCT r.label ORDER BY r.label), ', ') AS used_by
FROM reach r
JOIN pg_catalog.pg_proc p
  ON r.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = r.objid
JOIN pg_catalog.pg_namespace ns ON ns.oid = p.pronamespace
JOIN pg_catalog.pg_roles o ON o.oid = p.proowner
WHERE ns.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT o.rolsuper AND o.rolname <> current_user
GROUP BY 1, 2 ORDER BY 1
)sql";

// verdict: the check, which a resumed job meets again (the owner may have changed the code).
preflight_check verdict(bool ok, bool fatal, std::string message) {
    preflight_check c{"owner_code", ok, fatal, std::move(message)};
    c.on_resume = true;
    return c;
}

}  // namespace

owner_code_facts read_owner_code(pg::connection& conn, const catalog::table_model& table) {
    owner_code_facts f;
    auto r = conn.query(
        "SELECT current_user AS usr, pg_catalog.pg_get_userbyid(c.relowner) AS owner, "
        "  o.rolsuper AS owner_super, o.rolname = current_user AS is_owner "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles o ON o.oid = c.relowner "
        "WHERE c.oid = $1::pg_catalog.oid",
        table.oid);
    f.running_role = r.get(0, "usr");
    f.table_owner = r.get(0, "owner");
    f.owner_is_superuser = r.get_bool(0, "owner_super");
    f.running_as_owner = r.get_bool(0, "is_owner");
    if (f.running_as_owner || f.owner_is_superuser) return f;
    // The recursive query's estimates are large enough to start JIT, which takes seconds on a
    // busy machine for a walk that takes milliseconds; off for the rest of this (read-only)
    // transaction.
    conn.exec("SELECT pg_catalog.set_config('jit', 'off', true)");
    auto fns = conn.query(untrusted_functions_sql, table.oid);
    for (int i = 0; i < fns.rows(); ++i)
        f.functions.push_back({fns.get(i, "function"), fns.get(i, "owner"), fns.get(i, "used_by")});
    return f;
}

preflight_check evaluate_owner_code(const owner_code_facts& f, const catalog::qualified_name& table,
                                    bool trust_table_owner) {
    const std::string owner = quote_ident(f.table_owner);
    const std::string user = quote_ident(f.running_role);
    if (f.running_as_owner)
        return verdict(true, false,
                       "role " + user + " owns " + qualified(table) +
                           ": the table's code runs with its owner's rights");
    if (f.owner_is_superuser)
        return verdict(true, false,
                       "the owner of " + qualified(table) + ", " + owner + ", is a superuser");
    if (f.functions.empty())
        return verdict(
            true, false,
            "no function of " + qualified(table) +
                "'s constraints, defaults, indexes, types, triggers, rules or policies is "
                "owned by a role other than " +
                user + " or a superuser");
    std::string list;
    for (const auto& fn : f.functions)
        list += (list.empty() ? "" : "; ") + fn.signature + " (owner " + quote_ident(fn.owner) +
                ", in " + fn.used_by + ")";
    const std::string found = "the owner of " + qualified(table) + ", role " + owner +
                              ", is not a superuser, and partshift would run these functions "
                              "with the rights of role " +
                              user + ": " + list;
    if (trust_table_owner)
        return verdict(false, false, found + "; accepted with --trust-table-owner");
    return verdict(false, true,
                   found + " — run partshift as " + owner +
                       " (with REPLICATION), or pass --trust-table-owner to accept that this code "
                       "runs with the rights of " +
                       user);
}

}  // namespace partshift::plan
