// origin_filter: the origin filter's choice, names, foreign-origin check, session setup and
// clean-up (origin_filter.hpp). Plain statements on the caller's connection.
#include "partshift/stream/origin_filter.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "partshift/base/apply_lane_limit.hpp"
#include "partshift/pg/array_literal.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::stream {
namespace {

// The copy's workers are numbered 1..64 (copy/copier caps them there).
constexpr int max_copy_origins = 64;

// One query for the whole choice. has_function_privilege is true for a superuser; a
// function missing on this version (to_regprocedure NULL) counts as not callable.
constexpr const char* choice_sql =
    "SELECT pg_catalog.current_setting('server_version_num')::int, "
    "(SELECT pg_catalog.string_agg(roname, ', ' ORDER BY roname) "
    " FROM pg_catalog.pg_replication_origin WHERE roname NOT LIKE 'partshift\\_%'), "
    "coalesce(pg_catalog.has_function_privilege(pg_catalog.to_regprocedure("
    " 'pg_catalog.pg_replication_origin_session_setup(text)'), 'EXECUTE') "
    " AND pg_catalog.has_function_privilege(pg_catalog.to_regprocedure("
    " 'pg_catalog.pg_replication_origin_create(text)'), 'EXECUTE') "
    " AND pg_catalog.has_function_privilege(pg_catalog.to_regprocedure("
    " 'pg_catalog.pg_replication_origin_drop(text)'), 'EXECUTE'), false)";

std::vector<std::string> job_origin_names(const std::string& slot_name) {
    std::vector<std::string> names;
    // One per apply lane.
    for (int n = 1; n <= base::max_apply_lanes; ++n)
        names.push_back(origin_name(slot_name, 'a', n));
    for (int n = 1; n <= max_copy_origins; ++n) names.push_back(origin_name(slot_name, 'c', n));
    return names;
}

}  // namespace

const char* const foreign_origins_sql =
    "SELECT roname FROM pg_catalog.pg_replication_origin WHERE roname NOT LIKE 'partshift\\_%' "
    "ORDER BY roname";

bool origin_filter_enabled(const std::optional<std::string>& recorded) {
    return recorded && *recorded == origin_filter_on;
}

origin_filter_choice choose_origin_filter(pg::connection& conn, bool disabled) {
    if (disabled) return {false, "--no-origin-filter was given"};
    auto r = conn.exec(choice_sql);
    const auto version = r.get_int(0, 0);
    if (version < 160000)
        return {false, "the server is PostgreSQL " + std::to_string(version / 10000) +
                           " (pgoutput filters by origin from 16 on)"};
    if (auto foreign = r.opt(0, 1))
        return {false, "the cluster has replication origins that are not partshift's (" + *foreign +
                           "): a subscriber's changes to the source carry one and would be "
                           "filtered out too"};
    if (!r.get_bool(0, 2))
        return {false,
                "the role may not call pg_replication_origin_session_setup/_create/_drop "
                "(a superuser may GRANT EXECUTE ON FUNCTION pg_catalog."
                "pg_replication_origin_session_setup(text), pg_catalog."
                "pg_replication_origin_create(text), pg_catalog.pg_replication_origin_drop(text) "
                "TO the role)"};
    return {true, ""};
}

std::string origin_filter_record(const origin_filter_choice& choice) {
    return choice.on ? std::string(origin_filter_on) : "off: " + choice.why_not;
}

std::string origin_name(std::string_view slot_name, char role, int n) {
    return pg::fit_identifier(std::string(slot_name) + "_" + role + std::to_string(n));
}

std::vector<std::string> foreign_origins(pg::connection& conn) {
    auto r = conn.exec(foreign_origins_sql);
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.get(i, 0));
    return out;
}

boost::asio::awaitable<std::vector<std::string>> foreign_origins(pg::async_connection& conn) {
    auto r = co_await conn.exec(foreign_origins_sql);
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.get(i, 0));
    co_return out;
}

std::string foreign_origin_message(const std::vector<std::string>& origins,
                                   const std::string& job) {
    std::string names;
    for (const auto& o : origins) names += (names.empty() ? "" : ", ") + o;
    return "replication origin " + names + " appeared while job " + job +
           " filters its stream by origin: changes written under it may be missing from the "
           "stream; run 'partshift abort --job " +
           job + "' and run the job again with --no-origin-filter";
}

boost::asio::awaitable<bool> use_origin(pg::async_connection& conn, std::string name) {
    namespace asio = boost::asio;
    const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
        std::string error;
        try {
            // Named before the co_await (GCC 12 and temporaries across it).
            std::string create_sql =
                "SELECT pg_catalog.pg_replication_origin_create($1) "
                "WHERE pg_catalog.pg_replication_origin_oid($1) IS NULL";
            co_await conn.exec(std::move(create_sql), pg::make_params(name));
            std::string setup_sql = "SELECT pg_catalog.pg_replication_origin_session_setup($1)";
            co_await conn.exec(std::move(setup_sql), pg::make_params(name));
            co_return true;
        } catch (const pg::pg_error& e) {
            if (e.is_connection_loss()) throw;
            // In use: the session of a killed run, not gone yet. A concurrent create of the
            // same name (unique violation) cannot happen between this job's own sessions,
            // but is as harmless: look again.
            const bool again =
                e.sqlstate() == pg::sqlstate::object_in_use || e.sqlstate() == "23505";
            if (!again || std::chrono::steady_clock::now() >= give_up_at) error = e.what();
        }
        if (!error.empty()) {
            spdlog::warn(
                "origin filter: could not set replication origin {} on this session ({}); its "
                "writes are decoded by the walsender and dropped by pgoutput as without the "
                "filter",
                name, error);
            co_return false;
        }
        // Retried: the origin is released when the session holding it ends, and the server
        // offers nothing to wait on for that (the SQL functions fail at once while it is held).
        asio::steady_timer wait(co_await asio::this_coro::executor, std::chrono::milliseconds(200));
        co_await wait.async_wait(asio::use_awaitable);
    }
}

std::vector<std::string> drop_orphaned_origins(pg::connection& conn) {
    // One read of both catalogs; pg_replication_origin exists on every supported version.
    auto r = conn.exec(
        "SELECT 'o', roname FROM pg_catalog.pg_replication_origin "
        " WHERE roname LIKE 'partshift\\_%' "
        "UNION ALL SELECT 's', slot_name::text FROM pg_catalog.pg_replication_slots "
        " WHERE slot_name LIKE 'partshift\\_%'");
    std::set<std::string> owned;
    std::vector<std::string> origins;
    for (int i = 0; i < r.rows(); ++i) {
        if (r.get(i, 0) == "o") {
            origins.push_back(r.get(i, 1));
            continue;
        }
        for (auto& name : job_origin_names(r.get(i, 1))) owned.insert(std::move(name));
    }
    std::vector<std::string> dropped;
    for (const auto& name : origins) {
        if (owned.contains(name)) continue;
        try {
            // Gone meanwhile (its job's own drop beat this one): nothing to do.
            auto d = conn.query(
                "SELECT pg_catalog.pg_replication_origin_drop($1) "
                "WHERE pg_catalog.pg_replication_origin_oid($1) IS NOT NULL",
                name);
            if (d.rows() > 0) dropped.push_back(name);
        } catch (const pg::pg_error& e) {
            if (e.is_connection_loss()) throw;
            // In use (a session still has it set up) or not ours to drop: leave it.
            spdlog::debug("left replication origin {}: {}", name, e.what());
        }
    }
    return dropped;
}

void drop_job_origins(pg::connection& conn, const std::string& slot_name) {
    auto names = job_origin_names(slot_name);
    auto existing = conn.query(
        "SELECT roname FROM pg_catalog.pg_replication_origin WHERE roname = ANY($1::text[])",
        pg::text_array_literal(names));
    for (int i = 0; i < existing.rows(); ++i) {
        const auto name = existing.get(i, 0);
        for (int attempt = 0;; ++attempt) {
            try {
                conn.query(
                    "SELECT pg_catalog.pg_replication_origin_drop($1) "
                    "WHERE pg_catalog.pg_replication_origin_oid($1) IS NOT NULL",
                    name);
                break;
            } catch (const pg::pg_error& e) {
                if (e.is_connection_loss()) throw;
                // Held by a session that is ending (the run's own, or a killed run's).
                if (e.sqlstate() == pg::sqlstate::object_in_use && attempt < 50) {
                    // Polled: nothing tells another session when the holder lets it go.
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                    continue;
                }
                spdlog::warn(
                    "could not drop replication origin {} ({}); drop it with SELECT "
                    "pg_catalog.pg_replication_origin_drop('{}')",
                    name, e.what(), name);
                break;
            }
        }
    }
}

}  // namespace partshift::stream
