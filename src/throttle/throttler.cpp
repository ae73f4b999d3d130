// throttler: one connection, one tick a second: read, decide (throttle_decision, wal_guard),
// publish to progress, log changes. The decisions themselves are pure and live elsewhere.
#include "partshift/throttle/throttler.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::throttle {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

// Physical standbys are the walsenders not attached to a database (logical ones, partshift's
// own included, are). A caught-up idle standby reports NULL lags: 0. partshift's sessions do
// not count as load: the copy would otherwise throttle itself.
constexpr const char* signals_sql =
    "WITH standbys AS (SELECT r.application_name, extract(epoch FROM greatest("
    "coalesce(r.write_lag, '0'), coalesce(r.flush_lag, '0'), coalesce(r.replay_lag, '0')))"
    "::float8 AS lag FROM pg_stat_replication r JOIN pg_stat_activity a ON a.pid = r.pid "
    "WHERE a.datname IS NULL), "
    "worst AS (SELECT application_name, lag FROM standbys ORDER BY lag DESC LIMIT 1) "
    "SELECT (SELECT lag FROM worst), (SELECT application_name FROM worst), "
    "count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE wait_event_type = 'Lock') "
    "FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
    "AND coalesce(application_name, '') NOT LIKE 'partshift%'";

// invalidation_reason (17+) and idle_replication_slot_timeout (18+) through to_jsonb and
// pg_settings, so the one query runs on every version (NULL where the server has neither).
constexpr const char* slot_sql =
    "SELECT coalesce(s.wal_status, ''), "
    "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::bigint, s.safe_wal_size, "
    "(SELECT CASE WHEN setting::bigint < 0 THEN NULL ELSE setting::bigint * 1024 * 1024 END "
    " FROM pg_settings WHERE name = 'max_slot_wal_keep_size'), "
    "(pg_current_wal_lsn() - '0/0'::pg_lsn)::numeric(20,0)::text, "
    "coalesce(pg_catalog.to_jsonb(s) ->> 'invalidation_reason', ''), "
    "coalesce((SELECT setting::bigint * CASE unit WHEN 'min' THEN 60 WHEN 'h' THEN 3600 "
    " WHEN 'd' THEN 86400 ELSE 1 END FROM pg_catalog.pg_settings "
    " WHERE name = 'idle_replication_slot_timeout'), 0) "
    "FROM pg_replication_slots s WHERE s.slot_name = $1";

// throw_if_lost: a slot the server invalidated ends the run with the guard's exit (5),
// whatever the cause: the server's slot policy (its WAL limit, or idleness on 18) ended the
// job, the line names which, and the fix is the same for both: a server setting, then start
// over, since the changes the slot held are gone.
void throw_if_lost(const wal_guard_verdict& v, const std::string& slot, const std::string& job) {
    if (v.level != wal_guard_level::lost) return;
    throw wal_guard_error("slot " + slot + ": " + v.message +
                          "; start over: 'partshift abort --job " + job + "', then run again (" +
                          (v.idle_timeout ? "raise idle_replication_slot_timeout, or set it to 0"
                                          : "raise max_slot_wal_keep_size") +
                          ", first)");
}

slot_wal_reading reading_from(const pg::result& r) {
    slot_wal_reading reading;
    reading.wal_status = r.get(0, 0);
    reading.retained_bytes = r.get_int(0, 1);
    if (!r.is_null(0, 2)) reading.safe_wal_bytes = r.get_int(0, 2);
    if (!r.is_null(0, 3)) reading.server_limit_bytes = r.get_int(0, 3);
    reading.invalidation_reason = r.get(0, 5);
    reading.idle_timeout_seconds = r.get_int(0, 6);
    return reading;
}

// query_number: the throttle query's first column of its first row; no row or NULL is 0.
std::optional<double> query_number(const pg::result& r, std::string& error) {
    if (r.rows() == 0 || r.columns() == 0 || r.is_null(0, 0)) return 0.0;
    const std::string text = r.get(0, 0);
    try {
        size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
    error = "it returned '" + text.substr(0, 40) + "', not a number";
    return std::nullopt;
}

}  // namespace

throttler::throttler(throttler_options options, base::progress& progress,
                     const std::atomic<bool>& stop)
    : options_(std::move(options)), progress_(progress), stop_(stop) {}

asio::awaitable<void> throttler::run() {
    auto ex = co_await asio::this_coro::executor;
    std::optional<pg::async_connection> conn;
    asio::steady_timer tick(ex);
    while (!stop_) {
        try {
            if (!conn) {
                conn.emplace(
                    co_await pg::async_connection::connect(options_.dsn, "partshift-throttler"));
                // A slow throttle query must not stall the checks for long.
                co_await conn->exec("SET statement_timeout = '5s'");
            }
            std::string sql = slot_sql;
            auto r = co_await conn->exec(std::move(sql), pg::make_params(options_.slot_name));
            if (r.rows() > 0) {  // no slot: the streamer says so
                const auto reading = reading_from(r);
                progress_.slot_retained_bytes = reading.retained_bytes;
                progress_.slot_safe_wal_bytes = reading.safe_wal_bytes.value_or(-1);
                const auto verdict = act_on_guard(
                    assess_slot_wal(reading, options_.slot_wal_limit, options_.thresholds),
                    std::stoull(r.get(0, 4)));
                base::throttle_reason reason;
                const bool copying = progress_.copy_active;
                if (copying) {
                    auto signals = co_await read_signals(*conn);
                    reason =
                        decide_throttle(options_.limits, signals, progress_.copy_paused, verdict);
                }
                publish(reason);
                if (copying) progress_.copy_throttle_checked = true;
            }
        } catch (const pg::pg_error& e) {
            // The checks are advisory while the server is reachable at all; the roles that
            // need it notice a lost server themselves.
            spdlog::debug("throttle check failed: {}", e.what());
            conn.reset();
        }
        // A copy that starts waits for its first check: look again soon, not a second later.
        const auto next = clock::now() + options_.interval;
        do {
            tick.expires_after(std::chrono::milliseconds(100));
            co_await tick.async_wait(asio::use_awaitable);
        } while (clock::now() < next && !stop_ &&
                 !(progress_.copy_active && !progress_.copy_throttle_checked));
    }
    publish({});
}

asio::awaitable<server_signals> throttler::read_signals(pg::async_connection& conn) {
    server_signals s;
    const auto& limits = options_.limits;
    if (limits.max_replica_lag || !limits.max_load.empty()) {
        std::string sql = signals_sql;
        auto r = co_await conn.exec(std::move(sql));
        if (!r.is_null(0, 0)) s.replica_lag_seconds = std::stod(r.get(0, 0));
        s.replica_name = r.get(0, 1);
        s.active_backends = r.get_int(0, 2);
        s.waiting_backends = r.get_int(0, 3);
    }
    if (limits.throttle_query) {
        try {
            std::string sql = *limits.throttle_query;
            auto r = co_await conn.exec(std::move(sql));
            s.throttle_query_value = query_number(r, s.throttle_query_error);
        } catch (const pg::pg_error& e) {
            if (e.is_connection_loss()) throw;
            s.throttle_query_error = e.what();  // fail closed: throttled, and status says why
        }
    }
    co_return s;
}

wal_guard_verdict throttler::act_on_guard(wal_guard_verdict v, uint64_t server_lsn) {
    const std::string slot = "slot " + options_.slot_name;
    throw_if_lost(v, options_.slot_name, options_.job);
    if (!start_lsn_) {
        start_lsn_ = server_lsn;
        // Started with the slot already in trouble (a resume after the guard stopped a run):
        // what it pinned must be read before it can shrink.
        if (v.level < wal_guard_level::throttle) drained_at_ = clock::time_point{};
    }
    if (!drained_at_ && progress_.spooled_lsn >= *start_lsn_) drained_at_ = clock::now();
    const bool draining = !drained_at_ || clock::now() - *drained_at_ < options_.drain_grace;
    // Not for "unreserved": the next checkpoint invalidates the slot, draining or not.
    if (v.level == wal_guard_level::stop && draining && v.used < 1.0 && !v.unreserved) {
        // What the slot pinned before this run is being read now; stopping would not help.
        v.level = wal_guard_level::throttle;
        v.message += " (the stream is reading it; stopping only if it does not drain)";
    }
    if (v.level == wal_guard_level::stop)
        throw wal_guard_error(
            "stopped before the server invalidates " + slot + ": " + v.message +
            ". The checkpoint is kept; raise max_slot_wal_keep_size (or --slot-wal-limit) or end "
            "what holds the slot back (a long transaction, a slow stream), then run again; "
            "'partshift abort --job " +
            options_.job + "' releases the WAL");
    const auto now = clock::now();
    if (v.level != last_guard_level_ ||
        (v.level != wal_guard_level::ok && now - last_guard_log_ > std::chrono::minutes(1))) {
        if (v.level == wal_guard_level::warn)
            spdlog::warn(
                "WAL guard: {}; the copy is throttled at {:.0f}%, the run stops at {:.0f}%",
                v.message, options_.thresholds.throttle * 100, options_.thresholds.stop * 100);
        else if (v.level == wal_guard_level::throttle)
            spdlog::warn("WAL guard: {}; {}the run stops at {:.0f}%", v.message,
                         progress_.copy_active ? "throttling the copy, " : "",
                         options_.thresholds.stop * 100);
        else if (last_guard_level_ != wal_guard_level::ok)
            spdlog::info("WAL guard: the slot is back under {:.0f}% of its limit",
                         options_.thresholds.warn * 100);
        last_guard_log_ = now;
    }
    last_guard_level_ = v.level;
    return v;
}

void throttler::publish(const base::throttle_reason& reason) {
    if (reason == current_) return;
    const auto now = clock::now();
    if (reason.throttled() && !current_.throttled()) {
        spdlog::info("copy throttled: {}", reason.text);
        throttled_since_ = now;
    } else if (reason.throttled()) {
        spdlog::info("copy still throttled: {}", reason.text);
    } else {
        spdlog::info("copy resumes after {:.1f} s throttled",
                     std::chrono::duration<double>(now - throttled_since_).count());
    }
    current_ = reason;
    progress_.throttle.set(reason);
    progress_.copy_throttled = reason.throttled();
}

void check_slot_not_lost(pg::connection& conn, const std::string& slot_name,
                         const std::string& job) {
    auto r = conn.query(slot_sql, slot_name);
    if (r.rows() == 0) return;
    const auto reading = reading_from(r);
    const auto verdict = assess_slot_wal(reading, std::nullopt);
    throw_if_lost(verdict, slot_name, job);
    if (const auto warning = idle_timeout_warning(reading); !warning.empty())
        spdlog::warn("slot {}: {}", slot_name, warning);
}

double check_throttle_query(pg::connection& conn, const std::string& query) {
    try {
        auto r = conn.exec(query);
        std::string error;
        auto value = query_number(r, error);
        if (!value) throw usage_error("--throttle-query must return a number: " + error);
        return *value;
    } catch (const pg::pg_error& e) {
        if (e.is_connection_loss()) throw;
        throw usage_error(std::string("--throttle-query failed: ") + e.what());
    }
}

}  // namespace partshift::throttle
