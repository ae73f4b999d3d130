// schema_trust: one catalog query listing what makes schema partshift untrustworthy (see the
// header). Must not write: a refusal leaves the database exactly as it was.
#include "partshift/state/schema_trust.hpp"

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::state {
namespace {

// Each row is one problem, worded for the message. Trusted roles: the running role and the
// superusers (a superuser can already do anything partshift could be made to do). The running
// role's memberships do not count: owning through a role that others also belong to is what
// this refuses.
constexpr const char* problems_sql = R"SQL(
WITH trusted AS (
    SELECT r.oid FROM pg_catalog.pg_roles r
    WHERE r.rolsuper OR r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
), ns AS (
    SELECT n.oid, n.nspowner, n.nspacl FROM pg_catalog.pg_namespace n
    WHERE n.nspname OPERATOR(pg_catalog.=) 'partshift'
), rel AS (
    SELECT c.oid, c.relname, c.relowner, c.relacl, c.relkind FROM pg_catalog.pg_class c, ns
    WHERE c.relnamespace OPERATOR(pg_catalog.=) ns.oid
), owned(what, owner) AS (
    SELECT 'schema partshift', ns.nspowner FROM ns
    UNION ALL
    SELECT CASE WHEN rel.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}') THEN 'table '
                ELSE 'relation ' END
           OPERATOR(pg_catalog.||) 'partshift.' OPERATOR(pg_catalog.||)
           pg_catalog.quote_ident(rel.relname), rel.relowner FROM rel
    UNION ALL
    SELECT 'function partshift.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(p.proname),
           p.proowner
    FROM pg_catalog.pg_proc p, ns WHERE p.pronamespace OPERATOR(pg_catalog.=) ns.oid
    UNION ALL
    SELECT 'operator partshift.' OPERATOR(pg_catalog.||) o.oprname, o.oprowner
    FROM pg_catalog.pg_operator o, ns WHERE o.oprnamespace OPERATOR(pg_catalog.=) ns.oid
    UNION ALL
    SELECT 'type partshift.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t.typname), t.typowner
    FROM pg_catalog.pg_type t, ns
    WHERE t.typnamespace OPERATOR(pg_catalog.=) ns.oid AND t.typrelid OPERATOR(pg_catalog.=) 0
      AND t.typelem OPERATOR(pg_catalog.=) 0
), granted(what, grantee, privilege) AS (
    SELECT 'schema partshift', a.grantee, a.privilege_type
    FROM ns, pg_catalog.aclexplode(ns.nspacl) a
    WHERE a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
    UNION ALL
    SELECT 'partshift.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(rel.relname), a.grantee,
           a.privilege_type
    FROM rel, pg_catalog.aclexplode(rel.relacl) a
    WHERE a.privilege_type OPERATOR(pg_catalog.<>) ALL ('{SELECT}')
    UNION ALL
    SELECT 'partshift.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(rel.relname)
           OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(att.attname),
           a.grantee, a.privilege_type
    FROM rel JOIN pg_catalog.pg_attribute att ON att.attrelid OPERATOR(pg_catalog.=) rel.oid,
         pg_catalog.aclexplode(att.attacl) a
    WHERE a.privilege_type OPERATOR(pg_catalog.<>) ALL ('{SELECT}')
)
SELECT problem FROM (
    SELECT 1 AS ord, what OPERATOR(pg_catalog.||) ' is owned by '
           OPERATOR(pg_catalog.||) pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(owner))
           AS problem
    FROM owned WHERE owner OPERATOR(pg_catalog.<>) ALL (SELECT oid FROM trusted)
    UNION ALL
    SELECT 2, CASE WHEN grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                   ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(grantee)) END
           OPERATOR(pg_catalog.||) ' has ' OPERATOR(pg_catalog.||) privilege
           OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||) what
    FROM granted WHERE grantee OPERATOR(pg_catalog.<>) ALL (SELECT oid FROM trusted)
    UNION ALL
    SELECT 3, 'trigger ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t.tgname)
           OPERATOR(pg_catalog.||) ' on partshift.' OPERATOR(pg_catalog.||)
           pg_catalog.quote_ident(rel.relname)
    FROM rel JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) rel.oid
    WHERE NOT t.tgisinternal
    UNION ALL
    SELECT 3, 'rule ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(r.rulename)
           OPERATOR(pg_catalog.||) ' on partshift.' OPERATOR(pg_catalog.||)
           pg_catalog.quote_ident(rel.relname)
    FROM rel JOIN pg_catalog.pg_rewrite r ON r.ev_class OPERATOR(pg_catalog.=) rel.oid
    UNION ALL
    SELECT 3, 'policy ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(p.polname)
           OPERATOR(pg_catalog.||) ' on partshift.' OPERATOR(pg_catalog.||)
           pg_catalog.quote_ident(rel.relname)
    FROM rel JOIN pg_catalog.pg_policy p ON p.polrelid OPERATOR(pg_catalog.=) rel.oid
) found
ORDER BY ord, problem
)SQL";

}  // namespace

void require_trusted_schema(pg::connection& conn) {
    auto found = conn.exec(problems_sql);
    if (found.rows() == 0) return;
    std::string problems;
    for (int i = 0; i < found.rows(); ++i) problems += (i ? "; " : "") + found.get(i, 0);
    auto me = pg::quote_ident(conn.exec("SELECT CURRENT_USER").get(0, 0));
    throw preflight_error(
        "schema partshift, where partshift keeps its job state and acts on it with your "
        "rights, is not only yours: " +
        problems + ". Only you (" + me +
        ") or a superuser may own or write it, and partshift creates no trigger, rule or policy "
        "there. Check what is in it, then DROP SCHEMA partshift CASCADE when no job runs, or, "
        "if you trust every role named, ALTER its owner to " +
        me + " and REVOKE the privileges named");
}

}  // namespace partshift::state
