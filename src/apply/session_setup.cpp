// session_setup: opening and setting up the applier's sessions, and what a run reads once at
// its start (session_setup.hpp). Runs plain statements only, before the pipeline starts.
#include "partshift/apply/session_setup.hpp"

#include <spdlog/spdlog.h>

#include "partshift/error.hpp"
#include "partshift/pg/session_settings.hpp"
#include "partshift/stream/origin_filter.hpp"

namespace partshift::apply {
namespace {

// parse_job_lsn: a pg_lsn the job row holds, as text (stream/lsn's one LSN text format).
stream::lsn_t parse_job_lsn(const std::string& text) {
    if (auto lsn = stream::parse_lsn(text)) return *lsn;
    throw runtime_error("invalid LSN in partshift.jobs: " + text);
}

}  // namespace

asio::awaitable<pg::async_connection> open_apply_session(const applier_options& options,
                                                         bool set_statements, size_t lane) {
    auto conn = co_await pg::async_connection::connect(options.dsn, options.application_name);
    // Replayed changes must not fire the target's triggers or FK checks.
    co_await pg::require_replica_role(conn, "apply");
    // The changes arrive as the walsender's text (pinned the same way there); parse it in the
    // same styles whatever the role's or database's defaults.
    co_await pg::pin_text_formats(conn);
    // Always the generic plan: a custom plan is made afresh for every change (the planner
    // prefers custom plans for partitioned tables), which costs more than the change itself;
    // the generic plan still prunes to one partition at executor start.
    co_await conn.exec("SET plan_cache_mode = force_generic_plan");
    // Every statement here finds its rows by key. Without these, the generic plan of a set
    // statement (which cannot know its row count) may hash-join its rows to sequential scans
    // of every partition: seen taking 36 s for one row on a 200k-row target. A nested loop
    // probes the key index, pruned to one partition per row when the key holds the
    // partition key.
    if (set_statements) co_await conn.exec("SET enable_hashjoin = off; SET enable_mergejoin = off");
    // Explicit both ways: a role or database default must not decide what durable_applied_lsn
    // assumes.
    co_await conn.exec(options.asynchronous_commit ? "SET synchronous_commit = off"
                                                   : "SET synchronous_commit = on");
    // The job's stream skips what this session writes (16+, origin 'none'): the walsender
    // would decode every applied row only for pgoutput to drop it.
    // An origin is active in one session at a time: each lane has its own.
    if (!options.origin_slot.empty()) {
        // Named (GCC 12 and temporaries in a co_await).
        std::string origin =
            stream::origin_name(options.origin_slot, 'a', static_cast<int>(lane) + 1);
        co_await stream::use_origin(conn, std::move(origin));
    }
    co_return conn;
}

asio::awaitable<pg::async_connection> open_lookup_session(const applier_options& options) {
    auto conn =
        co_await pg::async_connection::connect(options.dsn, options.application_name + "-lookup");
    // The row read here is written to the target as text: print it exactly.
    co_await pg::pin_text_formats(conn);
    co_return conn;
}

asio::awaitable<job_position> read_job_position(pg::async_connection& conn,
                                                const std::string& job) {
    auto row = co_await conn.exec(
        "SELECT applied_lsn::text, max_chunk_high_lsn::text, "
        "pg_catalog.pg_current_wal_insert_lsn() - '0/0'::pg_lsn, "
        "pg_catalog.pg_current_wal_flush_lsn() - '0/0'::pg_lsn, "
        // Through jsonb: a schema of an earlier partshift has no such column (one lane).
        "coalesce((pg_catalog.to_jsonb(j) ->> 'apply_workers')::integer, 1) "
        "FROM partshift.jobs j WHERE job = $1",
        pg::make_params(job));
    if (row.rows() != 1) throw runtime_error("job '" + job + "' not found in partshift.jobs");
    job_position position;
    if (auto saved = row.opt(0, 0)) position.applied = parse_job_lsn(*saved);
    if (auto high = row.opt(0, 1)) position.chunk_high = parse_job_lsn(*high);
    position.wal_insert = std::stoull(row.get(0, 2));
    position.wal_flush = std::stoull(row.get(0, 3));
    position.apply_workers = static_cast<int>(row.get_int(0, 4));
    co_return position;
}

asio::awaitable<void> load_relation_facts(pg::async_connection& conn, relation_state& rel) {
    auto skipped =
        co_await conn.exec(skipped_keys::load_sql, pg::make_params(rel.skipped_keys_job));
    std::vector<std::string> skipped_texts;
    for (int r = 0; r < skipped.rows(); ++r) skipped_texts.push_back(skipped.get(r, 0));
    rel.skipped.reset(std::move(skipped_texts));
    // A set-based INSERT says ON CONFLICT DO NOTHING (so a duplicate can be named), which
    // the server refuses next to a DEFERRABLE unique or exclusion constraint; the target
    // mirrors the source's constraints, and may gain them later, so look at both.
    // A plain target with a unique or exclusion index besides its key (a revert window's
    // NAME_old): a row it refuses would only be seen as "the key or another unique value
    // exists"; row by row, PostgreSQL names the index and the value (issue 20 item 4).
    rel.row_by_row_writes = false;
    if (!rel.sets_supported) co_return;
    // Named before the co_await (GCC 12 and temporaries across it).
    std::string facts_sql =
        "SELECT EXISTS (SELECT FROM pg_catalog.pg_index WHERE NOT indimmediate AND "
        "indrelid IN ($1::oid, pg_catalog.to_regclass($2))), "
        "EXISTS (SELECT FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = "
        "i.indrelid LEFT JOIN pg_catalog.pg_constraint k ON k.conindid = i.indexrelid AND "
        "k.contype = 'x' WHERE i.indrelid = pg_catalog.to_regclass($2) AND c.relkind = 'r' "
        "AND NOT i.indisprimary AND (i.indisunique OR k.oid IS NOT NULL))";
    pg::param_list facts_params =
        pg::make_params(std::to_string(rel.source.oid), quote_qualified(rel.target));
    auto facts = co_await conn.exec(std::move(facts_sql), std::move(facts_params));
    const bool deferrable = facts.get(0, 0) == "t";
    const bool other_unique = facts.get(0, 1) == "t";
    rel.row_by_row_writes = deferrable || other_unique;
    if (deferrable)
        spdlog::info(
            "applier: a DEFERRABLE constraint on {} or {}: its inserts and updates "
            "are applied row by row",
            quote_qualified(rel.source.name), quote_qualified(rel.target));
    else if (other_unique)
        spdlog::info(
            "applier: {} has a unique index or exclusion constraint besides its key: its "
            "inserts and updates are applied row by row (a row it refuses is then named "
            "exactly)",
            quote_qualified(rel.target));
}

std::pair<const std::string&, bool> prepared_statements::name_for(const std::string& sql) {
    auto [it, added] = names_.try_emplace(sql);
    if (added) it->second = "partshift_apply_" + std::to_string(names_.size());
    return {it->second, added};
}

}  // namespace partshift::apply
