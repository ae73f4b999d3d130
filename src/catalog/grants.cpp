// grants: the privilege query (see the header). Must not write, and must not judge grants.
#include "partshift/catalog/grants.hpp"

namespace partshift::catalog {

std::vector<grant> read_grants(pg::connection& conn, uint32_t oid) {
    auto r = conn.query(
        "SELECT CASE WHEN g.grantee = 0 THEN 'PUBLIC' "
        "            ELSE pg_catalog.pg_get_userbyid(g.grantee) END AS grantee, "
        "  g.privilege_type, g.is_grantable, NULL::name AS col, 0 AS attnum "
        "FROM pg_catalog.pg_class c, aclexplode(c.relacl) g "
        "WHERE c.oid = $1 AND g.grantee <> c.relowner "
        "UNION ALL "
        "SELECT CASE WHEN g.grantee = 0 THEN 'PUBLIC' "
        "            ELSE pg_catalog.pg_get_userbyid(g.grantee) END, "
        "  g.privilege_type, g.is_grantable, a.attname, a.attnum "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid, "
        "  aclexplode(a.attacl) g "
        "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
        "  AND g.grantee <> c.relowner "
        "ORDER BY attnum, grantee, privilege_type",
        oid);
    std::vector<grant> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.get(i, "grantee"), r.get(i, "privilege_type"),
                       r.get_bool(i, "is_grantable"), r.opt(i, "col")});
    return out;
}

}  // namespace partshift::catalog
