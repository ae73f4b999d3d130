// schema_prints: storage and check of the recorded schema print (see the header).
#include "partshift/state/schema_prints.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include "partshift/error.hpp"

namespace partshift::state {

const char* const load_schema_print_sql =
    "SELECT kind, name, text FROM partshift.schema_prints WHERE job = $1 ORDER BY kind, name";

const char* const mark_schema_changed_sql =
    "INSERT INTO partshift.schema_prints (job, kind, name, text) VALUES ($1, '!', '', $2) "
    "ON CONFLICT (job, kind, name) DO NOTHING";

void record_schema_print(pg::connection& conn, const std::string& job, uint32_t table_oid,
                         const std::string& skip_publication) {
    const auto items = catalog::read_schema_print(conn, table_oid, skip_publication);
    pg::transaction tx(conn);
    conn.query("DELETE FROM partshift.schema_prints WHERE job = $1", job);
    for (const auto& i : items)
        conn.query(
            "INSERT INTO partshift.schema_prints (job, kind, name, text) "
            "VALUES ($1, $2, $3, $4)",
            job, i.kind, i.name, i.text);
    conn.query("UPDATE partshift.jobs SET schema_printed_at = pg_catalog.now() WHERE job = $1",
               job);
    tx.commit();
}

bool schema_print_recorded(pg::connection& conn, const std::string& job) {
    auto r =
        conn.query("SELECT schema_printed_at IS NOT NULL FROM partshift.jobs WHERE job = $1", job);
    return r.rows() > 0 && r.get_bool(0, 0);
}

schema_stop judge_schema_print(const std::vector<catalog::print_item>& recorded,
                               const std::vector<catalog::print_item>& now,
                               const std::string& table, const std::string& job) {
    schema_stop out;
    std::vector<catalog::print_item> base;
    for (const auto& i : recorded) {
        if (i.kind == "!") {
            out.message = i.text;
            return out;
        }
        base.push_back(i);
    }
    if (base.empty()) return out;  // nothing recorded
    const auto differences = catalog::compare_prints(base, now);
    for (const auto& d : differences) {
        if (d.verdict == catalog::print_verdict::carried)
            out.carried.push_back(catalog::describe_difference(d));
        out.restart = out.restart || d.verdict == catalog::print_verdict::restart;
    }
    out.message = catalog::stop_message(differences, table, job).value_or("");
    return out;
}

void check_schema_print(pg::connection& conn, const std::string& job, uint32_t table_oid,
                        const std::string& table, const std::string& skip_publication) {
    const auto recorded = catalog::print_items(conn.query(load_schema_print_sql, job));
    if (recorded.empty()) return;
    const auto now = catalog::read_schema_print(conn, table_oid, skip_publication);
    const auto verdict = judge_schema_print(recorded, now, table, job);
    for (const auto& line : verdict.carried)
        spdlog::info("{}: {}; the swap carries it over", table, line);
    if (verdict.message.empty()) return;
    // Inside the cutover's transaction the mark would roll back with it: it is made on the
    // next check outside (the watch), or stays unmade; the check itself repeats the verdict.
    if (verdict.restart && PQtransactionStatus(conn.native()) == PQTRANS_IDLE)
        conn.query(mark_schema_changed_sql, job, verdict.message);
    throw runtime_error(verdict.message);
}

}  // namespace partshift::state
