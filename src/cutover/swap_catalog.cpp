// swap_catalog: catalog reads for the swap and the statement runner (see the header). Queries
// take every value as a parameter; where a quoted name must come back from the server,
// format('%I') produces it. Must not change anything except through swap_runner::exec.
#include "partshift/cutover/swap_catalog.hpp"

#include <spdlog/spdlog.h>

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::cutover {
namespace {

// one_line: libpq messages carry "\n" before DETAIL/HINT lines; a step line stays one line.
std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    for (auto& c : text)
        if (c == '\n' || c == '\t') c = ' ';
    return text;
}

}  // namespace

void swap_runner::step(std::string name) {
    const auto now = std::chrono::steady_clock::now();
    if (!step_.empty())
        spdlog::debug("swap: step '{}' took {:.1f} ms", step_,
                      std::chrono::duration<double, std::milli>(now - step_started_).count());
    step_ = std::move(name);
    step_started_ = now;
}

void swap_runner::exec(const std::string& sql) {
    exec(sql, {});
}

void swap_runner::exec(const std::string& sql, const pg::param_list& params) {
    try {
        if (params.empty())
            conn_.exec(sql);
        else
            conn_.exec(sql, params);
    } catch (const pg::pg_error& e) {
        throw pg::pg_error("table swap failed at step '" + step_ + "': " + one_line(e.what()) +
                               " (statement: " + one_line(sql) + ")",
                           e.sqlstate());
    }
}

void swap_runner::fail(const std::string& message) const {
    throw runtime_error("table swap failed at step '" + step_ + "': " + message);
}

std::optional<relation_facts> find_relation(pg::connection& conn,
                                            const catalog::qualified_name& name) {
    auto r = conn.query(
        "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        name.schema, name.name);
    if (r.rows() == 0) return std::nullopt;
    const auto kind = r.view(0, 1);
    return relation_facts{static_cast<uint32_t>(r.get_int(0, 0)), kind.empty() ? '\0' : kind[0]};
}

char relkind_of(pg::connection& conn, const catalog::qualified_name& name) {
    auto facts = find_relation(conn, name);
    return facts ? facts->relkind : '\0';
}

std::optional<std::string> relation_comment(pg::connection& conn, uint32_t relation_oid) {
    return conn
        .query("SELECT pg_catalog.obj_description($1::oid, 'pg_class')",
               std::to_string(relation_oid))
        .opt(0, 0);
}

bool holds_access_exclusive(pg::connection& conn, uint32_t relation_oid) {
    return conn
        .query(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'relation' "
            "  AND database = (SELECT oid FROM pg_catalog.pg_database "
            "                  WHERE datname = current_database()) "
            "  AND relation = $1::oid AND pid = pg_catalog.pg_backend_pid() "
            "  AND mode = 'AccessExclusiveLock' AND granted)",
            relation_oid)
        .get_bool(0, 0);
}

bool name_taken(pg::connection& conn, const std::string& schema, const std::string& name) {
    return conn
        .query(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
            "               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "               WHERE n.nspname = $1 AND c.relname = $2) "
            "    OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t "
            "               JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
            "               WHERE n.nspname = $1 AND t.typname = $2)",
            schema, name)
        .get_bool(0, 0);
}

std::string free_name(pg::connection& conn, const std::string& schema, const std::string& base,
                      const std::string& suffix) {
    std::string candidate = pg::fit_identifier(base + suffix);
    for (int n = 2; name_taken(conn, schema, candidate); ++n) {
        if (n > 1000) throw runtime_error("no free name for " + base + suffix + " in " + schema);
        candidate = pg::fit_identifier(base + suffix + "_" + std::to_string(n));
    }
    return candidate;
}

std::vector<catalog::qualified_name> partitions_of(pg::connection& conn,
                                                   const catalog::qualified_name& table) {
    auto r = conn.query(
        "SELECT n.nspname, c.relname FROM pg_catalog.pg_partition_tree($1::regclass) t "
        "JOIN pg_catalog.pg_class c ON c.oid = t.relid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE t.level > 0 ORDER BY t.level, c.relname",
        relation_sql(table));
    std::vector<catalog::qualified_name> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.get(i, 0), r.get(i, 1)});
    return out;
}

std::vector<child_index> index_children(pg::connection& conn,
                                        const catalog::qualified_name& index) {
    auto r = conn.query(
        "SELECT tn.nspname, tc.relname, ic.relname "
        "FROM pg_catalog.pg_partition_tree($1::regclass) t "
        "JOIN pg_catalog.pg_class ic ON ic.oid = t.relid "
        "JOIN pg_catalog.pg_index i ON i.indexrelid = ic.oid "
        "JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid "
        "JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace "
        "WHERE t.level > 0 ORDER BY t.level, tc.relname",
        relation_sql(index));
    std::vector<child_index> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({{r.get(i, 0), r.get(i, 1)}, r.get(i, 2)});
    return out;
}

sequence_settings read_sequence_settings(pg::connection& conn,
                                         const catalog::qualified_name& sequence) {
    auto r = conn.query(
        "SELECT s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle "
        "FROM pg_catalog.pg_sequence s WHERE s.seqrelid = $1::regclass",
        relation_sql(sequence));
    if (r.rows() == 0)
        throw runtime_error("sequence " + sequence.schema + "." + sequence.name + " not found");
    sequence_settings s;
    s.start = r.get_int(0, 0);
    s.increment = r.get_int(0, 1);
    s.min = r.get_int(0, 2);
    s.max = r.get_int(0, 3);
    s.cache = r.get_int(0, 4);
    s.cycle = r.get_bool(0, 5);
    return s;
}

std::optional<int64_t> next_identity_floor(pg::connection& conn,
                                           const catalog::qualified_name& sequence,
                                           const catalog::qualified_name& table,
                                           const std::string& column, bool ascending) {
    // pg_sequence_last_value is NULL until the sequence is first used.
    auto last =
        conn.query("SELECT pg_catalog.pg_sequence_last_value($1::regclass)", relation_sql(sequence))
            .opt(0, 0);
    // The identifier is quoted; the aggregate reads the table this transaction has locked.
    auto extreme =
        conn.exec(std::string("SELECT ") + (ascending ? "max(" : "min(") +
                  pg::escape_identifier(column) + ")::bigint FROM " + relation_sql(table))
            .opt(0, 0);
    std::optional<int64_t> out;
    for (const auto& v : {last, extreme}) {
        if (!v) continue;
        const int64_t x = std::stoll(*v);
        if (!out || (ascending ? x > *out : x < *out)) out = x;
    }
    return out;
}

std::vector<publication_membership> read_publications(pg::connection& conn, uint32_t table_oid,
                                                      const std::string& skip) {
    // Column lists and row filters exist from PostgreSQL 15 on.
    const bool v15 = conn.server_version() >= 150000;
    const std::string columns =
        v15 ? "(SELECT string_agg(format('%I', a.attname), ', ' ORDER BY k.ord) "
              "   FROM unnest(pr.prattrs::int2[]) WITH ORDINALITY k(attnum, ord) "
              "   JOIN pg_catalog.pg_attribute a ON a.attrelid = pr.prrelid "
              "    AND a.attnum = k.attnum)"
            : "NULL::text";
    const std::string filter = v15 ? "pg_catalog.pg_get_expr(pr.prqual, pr.prrelid)" : "NULL::text";
    auto r = conn.query("SELECT p.pubname, p.pubviaroot, " + columns + " AS cols, " + filter +
                            " AS qual "
                            "FROM pg_catalog.pg_publication_rel pr "
                            "JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid "
                            "WHERE pr.prrelid = $1::oid AND p.pubname <> $2 ORDER BY p.pubname",
                        table_oid, skip);
    std::vector<publication_membership> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.get(i, 0), r.get_bool(i, 1), r.opt(i, 2), r.opt(i, 3)});
    return out;
}

}  // namespace partshift::cutover
