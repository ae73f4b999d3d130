// inspector: the catalog queries behind table_model. Each query fills one part of the model.
// Must not write anything, must not build SQL from values (parameters only), and must not
// quote identifiers locally: where a quoted name is needed the server's format('%I') does it.
#include "partshift/catalog/inspector.hpp"

#include <string_view>

#include "partshift/catalog/grants.hpp"
#include "partshift/catalog/partition_tree.hpp"
#include "partshift/error.hpp"

namespace partshift::catalog {
namespace {

// Tables smaller than this are counted exactly when they were never analyzed; larger ones are
// sampled, so inspecting a big fresh table never costs a full scan.
constexpr int64_t exact_count_max_bytes = 64LL * 1024 * 1024;

// parse_text_array reads the server's text output of a one-dimensional array
// ({a,"b c","d\"e",NULL}) into its elements; NULL elements become empty strings (the arrays
// read here, of names and reloptions, never hold NULLs).
std::vector<std::string> parse_text_array(std::string_view text) {
    std::vector<std::string> out;
    if (text.size() < 2 || text.front() != '{' || text.back() != '}')
        throw runtime_error("unexpected array text from the server: " + std::string(text));
    std::string_view body = text.substr(1, text.size() - 2);
    size_t i = 0;
    while (i < body.size()) {
        std::string element;
        if (body[i] == '"') {
            for (++i; i < body.size() && body[i] != '"'; ++i) {
                if (body[i] == '\\' && i + 1 < body.size()) ++i;
                element += body[i];
            }
            ++i;  // closing quote
        } else {
            while (i < body.size() && body[i] != ',') element += body[i++];
            if (element == "NULL") element.clear();
        }
        out.push_back(std::move(element));
        if (i < body.size() && body[i] == ',') ++i;
    }
    return out;
}

std::vector<std::string> array_or_empty(const pg::result& r, int row, const char* col) {
    auto v = r.opt(row, col);
    return v ? parse_text_array(*v) : std::vector<std::string>{};
}

char char_or_zero(const pg::result& r, int row, const char* col) {
    auto v = r.view(row, r.column(col));
    return v.empty() ? '\0' : v.front();
}

void read_table(pg::connection& conn, const qualified_name& name, table_model& m) {
    auto r = conn.query(
        "SELECT c.oid, pg_catalog.pg_get_userbyid(c.relowner) AS owner, c.relkind, "
        "  c.relpersistence, c.relreplident, pg_catalog.obj_description(c.oid, 'pg_class') AS "
        "  comment, t.spcname, am.amname, c.relrowsecurity, c.relforcerowsecurity, "
        "  c.reltuples::bigint AS reltuples, pg_catalog.pg_total_relation_size(c.oid) AS total, "
        "  pg_catalog.pg_relation_size(c.oid) AS heap, "
        "  ARRAY(SELECT o FROM unnest(c.reloptions) o UNION ALL "
        "        SELECT 'toast.' || o FROM pg_catalog.pg_class tc, unnest(tc.reloptions) o "
        "        WHERE tc.oid = c.reltoastrelid) AS options "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_catalog.pg_tablespace t ON t.oid = c.reltablespace "
        "LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam "
        "WHERE n.nspname = $1 AND c.relname = $2",
        name.schema, name.name);
    if (r.rows() == 0)
        throw usage_error("table \"" + name.schema + "." + name.name + "\" does not exist");
    m.oid = static_cast<uint32_t>(r.get_int(0, "oid"));
    m.name = name;
    m.owner = r.get(0, "owner");
    m.relkind = char_or_zero(r, 0, "relkind");
    m.persistence = char_or_zero(r, 0, "relpersistence");
    m.replica_identity = char_or_zero(r, 0, "relreplident");
    m.comment = r.opt(0, "comment");
    m.tablespace = r.opt(0, "spcname");
    if (auto am = r.opt(0, "amname"); am && *am != "heap") m.access_method = am;
    m.rls_enabled = r.get_bool(0, "relrowsecurity");
    m.rls_forced = r.get_bool(0, "relforcerowsecurity");
    m.storage_options = array_or_empty(r, 0, "options");
    m.total_bytes = r.get_int(0, "total");
    m.row_estimate = r.get_int(0, "reltuples");
}

// read_row_estimate: reltuples is -1 until the first VACUUM/ANALYZE (PostgreSQL 14+). A
// migration's progress and chunking want a real number, so count small tables and sample big
// ones (TABLESAMPLE SYSTEM reads 1% of the pages) rather than report zero.
void read_row_estimate(pg::connection& conn, table_model& m) {
    // Another session's temporary table cannot be read at all; it is refused later anyway.
    if (m.row_estimate >= 0 || (m.relkind != 'r' && m.relkind != 'p') || m.persistence == 't') {
        m.row_estimate = std::max<int64_t>(m.row_estimate, 0);
        return;
    }
    auto rel = conn.query("SELECT format('%I.%I', $1::text, $2::text)", m.name.schema, m.name.name)
                   .get(0, 0);
    // A partitioned table has no storage of its own: its leaves' heaps count.
    auto heap = conn.query(
                        "SELECT coalesce(sum(pg_catalog.pg_relation_size(relid)), 0) "
                        "FROM pg_catalog.pg_partition_tree($1::oid) WHERE isleaf",
                        m.oid)
                    .get_int(0, 0);
    m.row_estimate =
        heap <= exact_count_max_bytes
            ? conn.exec("SELECT count(*) FROM " + rel).get_int(0, 0)
            : conn.exec("SELECT count(*) * 100 FROM " + rel + " TABLESAMPLE SYSTEM (1)")
                  .get_int(0, 0);
}

// read_partitions: for a partitioned table, the tree below it, each leaf's own replica
// identity (PostgreSQL 15 does not inherit it, and a published leaf without one fails its
// UPDATEs and DELETEs), and size and row estimate summed over the leaves (the parent has no
// storage and reltuples -1). -1 when a leaf was never analyzed, so the estimate is counted.
void read_partitions(pg::connection& conn, table_model& m) {
    if (m.relkind != 'p') return;
    m.partitions = read_partition_tree(conn, m.oid);
    auto r = conn.query(
        "SELECT c.oid, c.relreplident, "
        "  ARRAY(SELECT a.attname FROM pg_catalog.pg_index i "
        "        JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) ON true "
        "        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
        "                                      AND a.attnum = k.attnum "
        "        WHERE i.indrelid = c.oid AND k.ord <= i.indnkeyatts "
        "          AND CASE c.relreplident WHEN 'd' THEN i.indisprimary "
        "                                  WHEN 'i' THEN i.indisreplident ELSE false END "
        "        ORDER BY k.ord) AS identity_columns, "
        "  pg_catalog.pg_total_relation_size(c.oid) AS total, c.reltuples::bigint AS reltuples "
        "FROM pg_catalog.pg_partition_tree($1::oid) t "
        "JOIN pg_catalog.pg_class c ON c.oid = t.relid WHERE t.isleaf",
        m.oid);
    int64_t total = 0, rows = 0;
    bool unknown = false;
    for (int i = 0; i < r.rows(); ++i) {
        const auto oid = static_cast<uint32_t>(r.get_int(i, "oid"));
        for (auto& p : m.partitions) {
            if (p.oid != oid) continue;
            p.replica_identity = char_or_zero(r, i, "relreplident");
            p.identity_columns = array_or_empty(r, i, "identity_columns");
        }
        total += r.get_int(i, "total");
        const int64_t leaf_rows = r.get_int(i, "reltuples");
        if (leaf_rows < 0) unknown = true;
        rows += std::max<int64_t>(leaf_rows, 0);
    }
    m.total_bytes = total;
    m.row_estimate = unknown ? -1 : rows;
}

void read_columns(pg::connection& conn, table_model& m) {
    auto r = conn.query(
        "SELECT a.attnum, a.attname, a.atttypid, "
        "  pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name, t.typcategory, "
        "  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN "
        "    CASE WHEN cn.nspname = 'pg_catalog' THEN format('%I', co.collname) "
        "         ELSE format('%I.%I', cn.nspname, co.collname) END END AS collation, "
        "  CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END "
        "    AS default_expr, "
        "  CASE WHEN a.attgenerated = 's' THEN pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END "
        "    AS generated_expr, "
        "  a.attnotnull, a.attidentity, "
        "  (SELECT format('%I.%I', sn.nspname, s.relname) "
        "     FROM pg_catalog.pg_depend d "
        "     JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "     JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace "
        "    WHERE d.classid = 'pg_catalog.pg_class'::regclass "
        "      AND d.refclassid = 'pg_catalog.pg_class'::regclass "
        "      AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum AND d.deptype = 'i') "
        "    AS identity_sequence, "
        "  pg_catalog.col_description(a.attrelid, a.attnum) AS comment, "
        "  CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END AS storage, "
        // attstattarget is -1 for "default" up to PostgreSQL 16 and NULL from 17 on.
        "  NULLIF(a.attstattarget, -1) AS statistics "
        "FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
        "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
        "LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace "
        "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        m.oid);
    for (int i = 0; i < r.rows(); ++i) {
        column c;
        c.attnum = static_cast<int>(r.get_int(i, "attnum"));
        c.name = r.get(i, "attname");
        c.type_oid = static_cast<uint32_t>(r.get_int(i, "atttypid"));
        c.type_name = r.get(i, "type_name");
        c.type_category = r.get(i, "typcategory");
        c.collation = r.opt(i, "collation");
        c.default_expr = r.opt(i, "default_expr");
        c.generated_expr = r.opt(i, "generated_expr");
        c.not_null = r.get_bool(i, "attnotnull");
        c.identity = char_or_zero(r, i, "attidentity");
        if (c.identity) c.identity_sequence = r.opt(i, "identity_sequence");
        c.comment = r.opt(i, "comment");
        c.storage = char_or_zero(r, i, "storage");
        if (auto s = r.opt(i, "statistics")) c.statistics = std::stoi(*s);
        m.columns.push_back(std::move(c));
    }
}

void read_checks(pg::connection& conn, table_model& m) {
    auto r = conn.query(
        "SELECT conname, pg_catalog.pg_get_constraintdef(oid) AS def, connoinherit "
        "FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'c' ORDER BY conname",
        m.oid);
    for (int i = 0; i < r.rows(); ++i)
        m.checks.push_back({r.get(i, "conname"), r.get(i, "def"), r.get_bool(i, "connoinherit")});
}

void read_indexes(pg::connection& conn, table_model& m) {
    // NULLS NOT DISTINCT exists from PostgreSQL 15 on.
    const std::string nulls_not_distinct =
        conn.server_version() >= 150000 ? "i.indnullsnotdistinct" : "false";
    // prefix: what pg_get_indexdef prints before "USING": CREATE [UNIQUE] INDEX name ON
    // [ONLY ]schema.table, with names quoted by the server's own rules (format %I), so the
    // USING clause can be cut off exactly instead of searching for " USING " (which may occur
    // inside a quoted name).
    auto r = conn.query(
        std::string(
            "SELECT i.indexrelid, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid) AS def, "
            "  format('CREATE %sINDEX %I ON %s%I.%I ', CASE WHEN i.indisunique THEN 'UNIQUE ' END, "
            "         ic.relname, CASE WHEN tc.relkind = 'p' THEN 'ONLY ' END, tn.nspname, "
            "         tc.relname) AS prefix, "
            "  am.amname, i.indisprimary, i.indisunique, con.conname, i.indisreplident, "
            "  i.indpred IS NOT NULL AS partial, i.indexprs IS NOT NULL AS expressions, "
            "  " +
            nulls_not_distinct +
            " AS nulls_not_distinct, "
            "  ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
            "        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
            "                                      AND a.attnum = k.attnum "
            "        WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) AS key_columns, "
            "  ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
            "        JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
            "                                      AND a.attnum = k.attnum "
            "        WHERE k.ord > i.indnkeyatts ORDER BY k.ord) AS include_columns, "
            "  ts.spcname, pg_catalog.obj_description(i.indexrelid, 'pg_class') AS comment "
            "FROM pg_catalog.pg_index i "
            "JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid "
            "JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid "
            "JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace "
            "JOIN pg_catalog.pg_am am ON am.oid = ic.relam "
            "LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = ic.reltablespace "
            "LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid "
            "  AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x') "
            "WHERE i.indrelid = $1 "
            "ORDER BY NOT i.indisprimary, ic.relname"),
        m.oid);
    for (int row = 0; row < r.rows(); ++row) {
        index x;
        x.name = r.get(row, "relname");
        x.definition = r.get(row, "def");
        const std::string prefix = r.get(row, "prefix");
        if (!x.definition.starts_with(prefix) ||
            !std::string_view(x.definition).substr(prefix.size()).starts_with("USING "))
            throw runtime_error("cannot read the definition of index \"" + x.name +
                                "\": expected it to start with '" + prefix + "USING', got '" +
                                x.definition + "'");
        x.using_clause = x.definition.substr(prefix.size());
        x.method = r.get(row, "amname");
        x.is_primary = r.get_bool(row, "indisprimary");
        x.is_unique = r.get_bool(row, "indisunique");
        x.constraint_name = r.opt(row, "conname");
        x.is_constraint = x.constraint_name.has_value();
        x.is_replica_identity = r.get_bool(row, "indisreplident");
        x.is_partial = r.get_bool(row, "partial");
        x.has_expressions = r.get_bool(row, "expressions");
        x.nulls_not_distinct = r.get_bool(row, "nulls_not_distinct");
        // An expression key has no column name; a partial list would mislead whoever asks
        // "does this index cover column X", so expression indexes list no key columns.
        if (!x.has_expressions) x.key_columns = array_or_empty(r, row, "key_columns");
        x.include_columns = array_or_empty(r, row, "include_columns");
        x.tablespace = r.opt(row, "spcname");
        x.comment = r.opt(row, "comment");
        m.indexes.push_back(std::move(x));
    }
}

// read_foreign_keys: top-level constraints only (conparentid = 0), so a partitioned referencing
// table shows its one constraint, not one clone per partition.
void read_foreign_keys(pg::connection& conn, table_model& m, bool inbound) {
    auto r = conn.query(
        "SELECT con.conname, pg_catalog.pg_get_constraintdef(con.oid) AS def, "
        "  n.nspname, c.relname, rn.nspname AS ref_nspname, rc.relname AS ref_relname, "
        "  ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord) "
        "        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid "
        "                                      AND a.attnum = k.attnum ORDER BY k.ord) AS cols, "
        "  ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord) "
        "        JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid "
        "                                      AND a.attnum = k.attnum ORDER BY k.ord) AS refcols "
        "FROM pg_catalog.pg_constraint con "
        "JOIN pg_catalog.pg_class c ON c.oid = con.conrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid "
        "JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
        "WHERE con.contype = 'f' AND con.conparentid = 0 "
        "  AND CASE WHEN $2 THEN con.confrelid = $1 ELSE con.conrelid = $1 END "
        "ORDER BY n.nspname, c.relname, con.conname",
        m.oid, inbound);
    auto& out = inbound ? m.inbound_fks : m.outbound_fks;
    for (int i = 0; i < r.rows(); ++i) {
        foreign_key fk;
        fk.name = r.get(i, "conname");
        fk.definition = r.get(i, "def");
        fk.table = {r.get(i, "nspname"), r.get(i, "relname")};
        fk.referenced = {r.get(i, "ref_nspname"), r.get(i, "ref_relname")};
        fk.columns = array_or_empty(r, i, "cols");
        fk.referenced_columns = array_or_empty(r, i, "refcols");
        out.push_back(std::move(fk));
    }
}

void read_triggers(pg::connection& conn, table_model& m) {
    // Internal triggers implement FKs and deferred constraints; they come with the constraint.
    auto r = conn.query(
        "SELECT tgname, pg_catalog.pg_get_triggerdef(oid) AS def, tgenabled "
        "FROM pg_catalog.pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal ORDER BY tgname",
        m.oid);
    for (int i = 0; i < r.rows(); ++i) {
        trigger t;
        t.name = r.get(i, "tgname");
        t.definition = r.get(i, "def");
        t.enabled_state = char_or_zero(r, i, "tgenabled");
        t.enabled = t.enabled_state != 'D';
        m.triggers.push_back(std::move(t));
    }
}

// read_dependent_views: views and materialized views whose rewrite rule depends on the table,
// then on those views, recursively; ordered by depth so they can be recreated in order.
void read_dependent_views(pg::connection& conn, table_model& m) {
    auto r = conn.query(
        "WITH RECURSIVE deps(oid, depth) AS ( "
        "  SELECT DISTINCT rw.ev_class, 1 FROM pg_catalog.pg_depend d "
        "  JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid "
        "  WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass "
        "    AND d.refclassid = 'pg_catalog.pg_class'::regclass "
        "    AND d.refobjid = $1 AND rw.ev_class <> $1 "
        "  UNION "
        "  SELECT rw.ev_class, deps.depth + 1 FROM deps "
        "  JOIN pg_catalog.pg_depend d ON d.refobjid = deps.oid "
        "    AND d.classid = 'pg_catalog.pg_rewrite'::regclass "
        "    AND d.refclassid = 'pg_catalog.pg_class'::regclass "
        "  JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid "
        "  WHERE rw.ev_class <> deps.oid AND deps.depth < 100) "
        "SELECT n.nspname, v.relname, v.relkind = 'm' AS materialized, "
        "  pg_catalog.pg_get_viewdef(v.oid) AS def, max(deps.depth) AS depth "
        "FROM deps JOIN pg_catalog.pg_class v ON v.oid = deps.oid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace "
        "GROUP BY v.oid, n.nspname, v.relname, v.relkind "
        "ORDER BY max(deps.depth), n.nspname, v.relname",
        m.oid);
    for (int i = 0; i < r.rows(); ++i)
        m.dependent_views.push_back({{r.get(i, "nspname"), r.get(i, "relname")},
                                     r.get_bool(i, "materialized"),
                                     r.get(i, "def"),
                                     static_cast<int>(r.get_int(i, "depth"))});
}

// read_sequences: sequences owned by a column, serial (deptype 'a') and identity ('i').
void read_sequences(pg::connection& conn, table_model& m) {
    auto r = conn.query(
        "SELECT sn.nspname, s.relname, a.attname, d.deptype = 'i' AS identity "
        "FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.classid = 'pg_catalog.pg_class'::regclass "
        "  AND d.refclassid = 'pg_catalog.pg_class'::regclass "
        "  AND d.refobjid = $1 AND d.deptype IN ('a', 'i') "
        "ORDER BY a.attnum, s.relname",
        m.oid);
    for (int i = 0; i < r.rows(); ++i)
        m.sequences.push_back({{r.get(i, "nspname"), r.get(i, "relname")},
                               r.get(i, "attname"),
                               r.get_bool(i, "identity")});
}

void read_policies(pg::connection& conn, table_model& m) {
    auto r = conn.query(
        "SELECT p.polname, "
        "  CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' "
        "                WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd, "
        "  p.polpermissive, "
        "  ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(r) END "
        "        FROM unnest(p.polroles) WITH ORDINALITY u(r, ord) ORDER BY ord) AS roles, "
        "  pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS using_expr, "
        "  pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr "
        "FROM pg_catalog.pg_policy p WHERE p.polrelid = $1 ORDER BY p.polname",
        m.oid);
    for (int i = 0; i < r.rows(); ++i) {
        policy p;
        p.name = r.get(i, "polname");
        p.command = r.get(i, "cmd");
        p.permissive = r.get_bool(i, "polpermissive");
        p.roles = array_or_empty(r, i, "roles");
        p.using_expr = r.opt(i, "using_expr");
        p.check_expr = r.opt(i, "check_expr");
        m.policies.push_back(std::move(p));
    }
}

}  // namespace

table_model inspect_table(pg::connection& conn, const qualified_name& name, row_estimate estimate) {
    table_model m;
    read_table(conn, name, m);
    read_partitions(conn, m);
    if (estimate == row_estimate::count_when_unknown)
        read_row_estimate(conn, m);
    else
        m.row_estimate = std::max<int64_t>(m.row_estimate, 0);
    read_columns(conn, m);
    read_checks(conn, m);
    read_indexes(conn, m);
    read_foreign_keys(conn, m, false);
    read_foreign_keys(conn, m, true);
    read_triggers(conn, m);
    read_dependent_views(conn, m);
    read_sequences(conn, m);
    m.grants = read_grants(conn, m.oid);
    read_policies(conn, m);
    return m;
}

}  // namespace partshift::catalog
