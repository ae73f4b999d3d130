// job_store: SQL over partshift.jobs. Values are parameters; no identifiers are built here
// because every table name is fixed.
#include "partshift/state/job_store.hpp"

#include <stdexcept>

#include "partshift/pg/array_literal.hpp"
#include "partshift/state/schema.hpp"
#include "partshift/state/schema_trust.hpp"

namespace partshift::state {
namespace {

std::optional<std::string> number_param(const std::optional<lsn_t>& lsn) {
    if (!lsn) return std::nullopt;
    return std::to_string(*lsn);
}

}  // namespace

std::optional<lsn_t> lsn_from_number_text(const std::optional<std::string>& text) {
    if (!text) return std::nullopt;
    return static_cast<lsn_t>(std::stoull(*text));
}

void ensure_schema(pg::connection& conn) {
    // Two partshift processes starting at once must not race on CREATE TABLE IF NOT EXISTS.
    pg::transaction tx(conn);
    conn.exec("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('partshift.schema'))");
    // The schema first, owned by the running role (no privileges for anyone else), then the
    // check, then the tables: IF NOT EXISTS must never adopt a schema or a table that someone
    // else prepared (with a trigger that would run as us), and once the schema is ours and
    // no one else may create in it, nothing can appear in it between the check and the tables.
    conn.exec("CREATE SCHEMA IF NOT EXISTS partshift");
    require_trusted_schema(conn);
    conn.exec(ensure_schema_sql);
    tx.commit();
}

bool schema_exists(pg::connection& conn) {
    if (!conn.exec("SELECT pg_catalog.to_regclass('partshift.jobs') IS NOT NULL").get_bool(0, 0))
        return false;
    require_trusted_schema(conn);
    return true;
}

namespace {

constexpr const char* job_columns =
    "SELECT job, source_schema, source_table, target_schema, target_table, final_name, "
    "old_name, slot_name, publication_name, spec, spool_dir, phase, "
    "(l0_lsn - '0/0'::pg_lsn)::numeric(20,0)::text AS l0, "
    "(max_chunk_high_lsn - '0/0'::pg_lsn)::numeric(20,0)::text AS high, "
    "(applied_lsn - '0/0'::pg_lsn)::numeric(20,0)::text AS applied, "
    "rows_estimate, rows_copied, last_error, cutover_requested, "
    "(swap_lsn - '0/0'::pg_lsn)::numeric(20,0)::text AS swap, "
    // Through jsonb: a schema an older version created lacks these columns until a run
    // upgrades it, and status must still read it.
    "to_jsonb(j) ->> 'reverse_of' AS reverse_of, "
    "to_jsonb(j) ->> 'revert_window_ms' AS revert_window_ms, "
    "to_jsonb(j) ->> 'revert_state' AS revert_state, "
    "to_jsonb(j) ->> 'group_job' AS group_job, "
    "coalesce((to_jsonb(j) ->> 'group_position')::int, 0) AS group_position "
    "FROM partshift.jobs j ";

job_record record_from(const pg::result& r, int row) {
    job_record rec;
    rec.job = r.get(row, "job");
    rec.source_schema = r.get(row, "source_schema");
    rec.source_table = r.get(row, "source_table");
    rec.target_schema = r.get(row, "target_schema");
    rec.target_table = r.get(row, "target_table");
    rec.final_name = r.get(row, "final_name");
    rec.old_name = r.get(row, "old_name");
    rec.slot_name = r.get(row, "slot_name");
    rec.publication_name = r.get(row, "publication_name");
    // bytea arrives in hex text form; decode it to the serialized message.
    size_t length = 0;
    std::unique_ptr<unsigned char, decltype(&PQfreemem)> raw(
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(r.get(row, "spec").c_str()),
                        &length),
        &PQfreemem);
    if (!raw) throw std::runtime_error("cannot decode the stored job spec");
    rec.spec.assign(reinterpret_cast<const char*>(raw.get()), length);
    rec.spool_dir = r.get(row, "spool_dir");
    rec.phase = r.get(row, "phase");
    rec.l0_lsn = lsn_from_number_text(r.opt(row, "l0"));
    rec.max_chunk_high_lsn = lsn_from_number_text(r.opt(row, "high"));
    rec.applied_lsn = lsn_from_number_text(r.opt(row, "applied"));
    rec.rows_estimate = r.get_int(row, "rows_estimate");
    rec.rows_copied = r.get_int(row, "rows_copied");
    rec.last_error = r.opt(row, "last_error");
    rec.cutover_requested = r.get_bool(row, "cutover_requested");
    rec.swap_lsn = lsn_from_number_text(r.opt(row, "swap"));
    rec.reverse_of = r.opt(row, "reverse_of");
    if (auto ms = r.opt(row, "revert_window_ms")) rec.revert_window_ms = std::stoll(*ms);
    rec.revert_state = r.opt(row, "revert_state");
    rec.group_job = r.opt(row, "group_job");
    rec.group_position = static_cast<int>(r.get_int(row, "group_position"));
    return rec;
}

}  // namespace

std::optional<job_record> load_job(pg::connection& conn, const std::string& job) {
    if (!schema_exists(conn)) return std::nullopt;
    auto r = conn.query(std::string(job_columns) + "WHERE job = $1", job);
    if (r.rows() == 0) return std::nullopt;
    return record_from(r, 0);
}

std::vector<job_record> load_group(pg::connection& conn, const std::string& group) {
    std::vector<job_record> out;
    if (!schema_exists(conn)) return out;
    auto r = conn.query(std::string(job_columns) +
                            "WHERE to_jsonb(j) ->> 'group_job' = $1 "
                            "ORDER BY (to_jsonb(j) ->> 'group_position')::int, job",
                        group);
    for (int i = 0; i < r.rows(); ++i) out.push_back(record_from(r, i));
    return out;
}

void insert_job(pg::connection& conn, const job_record& rec) {
    // spec is binary: send it hex-escaped so the text-format parameter stays valid UTF-8.
    static constexpr char hex[] = "0123456789abcdef";
    std::string spec_hex = "\\x";
    for (unsigned char c : rec.spec) {
        spec_hex += hex[c >> 4];
        spec_hex += hex[c & 15];
    }
    conn.query(
        "INSERT INTO partshift.jobs (job, source_schema, source_table, target_schema, "
        "target_table, final_name, old_name, slot_name, publication_name, spec, spool_dir, phase, "
        "rows_estimate, group_job, group_position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
        "$10::bytea, $11, $12, $13, $14, nullif($15, '')::int)",
        rec.job, rec.source_schema, rec.source_table, rec.target_schema, rec.target_table,
        rec.final_name, rec.old_name, rec.slot_name, rec.publication_name, spec_hex, rec.spool_dir,
        rec.phase, rec.rows_estimate, rec.group_job,
        rec.group_job ? std::to_string(rec.group_position) : std::string());
}

// phase_started keeps the first start of each phase, for the summary's durations. The tables
// of a multi-table job move through the phases together: their rows follow the lead's.
const char* const set_phase_sql =
    "UPDATE partshift.jobs SET phase = $2, updated_at = now(), "
    "phase_started = jsonb_build_object($2::text, now()) || phase_started "
    "WHERE job = $1 OR group_job = $1";

void set_phase(pg::connection& conn, const std::string& job, const std::string& phase) {
    conn.query(set_phase_sql, job, phase);
}

void set_l0(pg::connection& conn, const std::string& job, lsn_t l0) {
    conn.query(
        "UPDATE partshift.jobs SET l0_lsn = '0/0'::pg_lsn + $2::numeric, "
        "applied_lsn = coalesce(applied_lsn, '0/0'::pg_lsn + $2::numeric), updated_at = now() "
        "WHERE job = $1 OR group_job = $1",
        job, number_param(l0));
}

void reset_live_figures(pg::connection& conn, const std::string& job) {
    conn.query(
        "UPDATE partshift.jobs SET lag_bytes = NULL, lag_seconds = NULL, apply_rate = NULL, "
        "live = NULL, last_error = NULL, updated_at = now() WHERE job = $1",
        job);
}

void set_last_error(pg::connection& conn, const std::string& job, const std::string& message) {
    conn.query("UPDATE partshift.jobs SET last_error = $2, updated_at = now() WHERE job = $1", job,
               message);
}

void set_cutover_state(pg::connection& conn, const std::string& job, const std::string& text) {
    conn.query(
        "UPDATE partshift.jobs SET cutover_state = nullif($2, ''), updated_at = now() "
        "WHERE job = $1",
        job, text);
}

void mark_cut_over(pg::connection& conn, const std::string& job, int attempts,
                   const std::vector<std::string>& after_sql) {
    auto r = conn.query(
        "UPDATE partshift.jobs SET phase = 'done', cutover_requested = false, "
        "swap_xid = txid_current(), swap_lsn = pg_current_wal_insert_lsn(), cut_over_at = now(), "
        "cutover_attempts = $2, cutover_state = 'swapped', lag_bytes = 0, lag_seconds = 0, "
        "after_swap_sql = $3::text[], updated_at = now() WHERE job = $1 RETURNING 1",
        job, attempts, pg::text_array_literal(after_sql));
    if (r.rows() != 1) throw std::runtime_error("job " + job + " vanished from partshift.jobs");
}

std::vector<std::string> after_swap_sql(pg::connection& conn, const std::string& job) {
    // One row per statement: no array parsing on this side.
    auto r = conn.query("SELECT unnest(after_swap_sql) FROM partshift.jobs WHERE job = $1", job);
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.get(i, 0));
    return out;
}

void record_cutover_report(pg::connection& conn, const std::string& job, double lock_hold_ms,
                           const std::string& summary) {
    conn.query(
        "UPDATE partshift.jobs SET lock_hold_ms = $2::double precision, summary = $3, "
        "cutover_state = 'done', updated_at = now() WHERE job = $1",
        job, std::to_string(lock_hold_ms), summary);
}

std::string job_summary(pg::connection& conn, const std::string& job) {
    auto r = conn.query("SELECT coalesce(summary, '') FROM partshift.jobs WHERE job = $1", job);
    return r.rows() ? r.get(0, 0) : "";
}

void set_group_window_end(pg::connection& conn, const std::string& group) {
    conn.query(
        "UPDATE partshift.jobs SET max_chunk_high_lsn = (SELECT max(m.max_chunk_high_lsn) FROM "
        "partshift.jobs m WHERE m.group_job = $1), updated_at = now() WHERE job = $1",
        group);
}

void delete_job(pg::connection& conn, const std::string& job) {
    pg::transaction tx(conn);
    conn.exec("SELECT pg_advisory_xact_lock(hashtext('partshift.schema'))");
    // A multi-table job's other tables' rows go with it (through jsonb: a schema an older
    // version created has no group_job column, and abort must still work on it).
    conn.query("DELETE FROM partshift.jobs j WHERE job = $1 OR to_jsonb(j) ->> 'group_job' = $1",
               job);
    if (conn.exec("SELECT count(*) FROM partshift.jobs").get_int(0, 0) == 0)
        conn.exec("DROP SCHEMA partshift CASCADE");
    tx.commit();
}

}  // namespace partshift::state
