// slot_manager: slot and publication lifecycle. Replication commands go over a replication
// connection (simple protocol); everything else is plain SQL with parameters.
#include "partshift/stream/slot_manager.hpp"

#include <spdlog/spdlog.h>

#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "partshift/error.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/stream/origin_filter.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::stream {
namespace {

namespace asio = boost::asio;

// The transactions a new slot waits for: every one that holds an xid or xmin and started
// before the slot request, in any database — sessions, and prepared (2PC) transactions, which
// have no session and stay until COMMIT PREPARED or ROLLBACK PREPARED.
std::string blocking_transactions(const std::string& dsn, int own_pid) {
    try {
        pg::connection conn(dsn, "partshift");
        std::string list;
        auto p = conn.query(
            "SELECT x.gid, coalesce(x.owner::text, '?'), coalesce(x.database::text, '?'), "
            "pg_catalog.round(EXTRACT(epoch FROM pg_catalog.now() - x.prepared))::text "
            "FROM pg_catalog.pg_prepared_xacts x ORDER BY x.prepared LIMIT 5");
        for (int i = 0; i < p.rows(); ++i) {
            if (!list.empty()) list += "; ";
            list += "prepared transaction '" + p.get(i, 0) + "' (owner " + p.get(i, 1) +
                    ", database " + p.get(i, 2) + ", prepared " + p.get(i, 3) +
                    " s ago; COMMIT PREPARED or ROLLBACK PREPARED ends it)";
        }
        auto r = conn.query(
            "SELECT pid, coalesce(usename::text, '?'), "
            "coalesce(pg_catalog.to_char(xact_start, 'YYYY-MM-DD HH24:MI:SS'), '?'), "
            "pg_catalog.left(pg_catalog.regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), "
            "60) "
            "FROM pg_catalog.pg_stat_activity WHERE pid <> pg_catalog.pg_backend_pid() "
            "AND pid <> $1 AND (backend_xid IS NOT NULL OR backend_xmin IS NOT NULL) "
            "AND backend_type = 'client backend' ORDER BY xact_start LIMIT 5",
            own_pid);
        for (int i = 0; i < r.rows(); ++i) {
            if (!list.empty()) list += "; ";
            list += "pid " + r.get(i, 0) + " (user " + r.get(i, 1) + ", transaction since " +
                    r.get(i, 2) + ", query: " + r.get(i, 3) + ")";
        }
        return list.empty() ? "no open transaction visible to this user" : list;
    } catch (const std::exception& e) {
        return std::string("could not list them: ") + e.what();
    }
}

}  // namespace

std::string create_slot_command(const std::string& slot_name, int server_version) {
    // Slot names are [a-z0-9_] by construction (state::object_name), quoted anyway.
    return "CREATE_REPLICATION_SLOT " + pg::escape_identifier(slot_name) +
           " LOGICAL pgoutput (SNAPSHOT 'nothing'" +
           (server_version >= 170000 ? ", FAILOVER" : "") + ")";
}

asio::awaitable<created_slot> create_slot(std::string dsn, std::string slot_name,
                                          std::chrono::seconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    auto conn = co_await pg::async_connection::connect(dsn, "partshift", /*replication=*/true);
    const std::string sql = create_slot_command(slot_name, conn.server_version());

    struct shared_state {
        bool done = false;
        std::exception_ptr error;
        created_slot slot;
        asio::steady_timer wake;
        explicit shared_state(asio::any_io_executor e) : wake(e) {}
    };
    auto state = std::make_shared<shared_state>(ex);
    asio::co_spawn(
        ex,
        [&conn, sql, slot_name]() -> asio::awaitable<created_slot> {
            auto r = co_await conn.exec(sql);
            auto lsn = parse_lsn(r.get(0, "consistent_point"));
            if (!lsn) throw partshift::runtime_error("server returned an unreadable slot LSN");
            co_return created_slot{slot_name, *lsn};
        },
        [state](std::exception_ptr e, created_slot slot) {
            state->done = true;
            state->error = e;
            state->slot = std::move(slot);
            state->wake.cancel();
        });

    auto started = std::chrono::steady_clock::now();
    auto next_report = started + std::chrono::seconds(5);
    bool cancelled = false;
    while (!state->done) {
        state->wake.expires_after(std::chrono::milliseconds(500));
        boost::system::error_code ignored;
        co_await state->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        if (state->done) break;
        auto now = std::chrono::steady_clock::now();
        if (!cancelled && now >= next_report) {
            spdlog::warn("creating slot {} is waiting for running transactions to finish: {}",
                         slot_name, blocking_transactions(dsn, conn.backend_pid()));
            next_report = now + std::chrono::seconds(15);
        }
        if (!cancelled && now - started >= timeout) {
            std::string holders = blocking_transactions(dsn, conn.backend_pid());
            conn.cancel();
            cancelled = true;
            while (!state->done) {
                state->wake.expires_after(std::chrono::milliseconds(100));
                co_await state->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            }
            throw preflight_error("slot " + slot_name + " was not created within " +
                                  std::to_string(timeout.count()) +
                                  "s: it waits for transactions that were already running "
                                  "to end: " +
                                  holders + "; end or commit them and run again");
        }
    }
    if (state->error) std::rethrow_exception(state->error);
    spdlog::info("created slot {} at {}{}", slot_name, format_lsn(state->slot.consistent_point),
                 conn.server_version() >= 170000 ? " (a failover slot)" : "");
    co_return state->slot;
}

bool slot_exists(pg::connection& conn, const std::string& slot_name) {
    return conn.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", slot_name).rows() >
           0;
}

namespace {

void drop_slot_only(pg::connection& conn, const std::string& slot_name, bool terminate_user) {
    for (int attempt = 0; attempt < 50; ++attempt) {
        auto r = conn.query(
            "SELECT active, coalesce(active_pid, 0) FROM pg_replication_slots "
            "WHERE slot_name = $1",
            slot_name);
        if (r.rows() == 0) return;
        if (!r.get_bool(0, 0)) {
            try {
                conn.query("SELECT pg_drop_replication_slot($1)", slot_name);
                return;
            } catch (const pg::pg_error& e) {
                // It became active between the check and the drop: look again.
                if (e.sqlstate() != pg::sqlstate::object_in_use) throw;
            }
        } else if (terminate_user) {
            conn.query("SELECT pg_terminate_backend($1)", r.get_int(0, 1));
        } else {
            throw partshift::runtime_error("slot " + slot_name + " is in use by process " +
                                           r.get(0, 1) + " (a partshift run?); stop it first");
        }
        // Polled: pg_drop_replication_slot cannot wait for an ending walsender to let go.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw partshift::runtime_error("could not drop slot " + slot_name + ": it stays in use");
}

}  // namespace

void drop_slot(pg::connection& conn, const std::string& slot_name, bool terminate_user) {
    drop_slot_only(conn, slot_name, terminate_user);
    // The origins of the job's writing sessions (origin_filter) are named after its slot and
    // go with it, also when a killed run left them behind without the slot.
    drop_job_origins(conn, slot_name);
}

void create_publication(pg::connection& conn, const std::string& publication,
                        const std::string& quoted_source) {
    // publish_via_partition_root: a partitioned source (re-partitioning) then sends every
    // leaf's changes as changes of the root, the one relation the applier follows; a plain
    // table is not affected by it.
    conn.exec("CREATE PUBLICATION " + pg::escape_identifier(publication) + " FOR TABLE " +
              quoted_source + " WITH (publish_via_partition_root = true)");
}

void drop_publication(pg::connection& conn, const std::string& publication) {
    conn.exec("DROP PUBLICATION IF EXISTS " + pg::escape_identifier(publication));
}

}  // namespace partshift::stream
