// copier: schedules pending chunks over N worker coroutines and reports the outcome.
// Must not render copy SQL (chunk_sql) or move rows itself (chunk_copier).
#include "partshift/copy/copier.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <future>
#include <memory>
#include <optional>

#include "partshift/copy/chunk_copier.hpp"
#include "partshift/error.hpp"
#include "partshift/monitor/estimates.hpp"
#include "partshift/monitor/progress_bar.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/session_settings.hpp"
#include "partshift/stream/origin_filter.hpp"

namespace partshift::copy {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

// copy_run: what the workers share. One io_context thread runs every worker, so plain members
// are safe; only `stop` (set from outside, e.g. a signal handler's thread) is atomic.
struct copy_run {
    explicit copy_run(const std::atomic<bool>& stop_flag) : stop(stop_flag) {}

    std::string dsn;
    std::string job;
    std::string application_name;
    std::string origin_slot;  // copy_options::origin_slot
    quoted_copy_spec spec;
    base::progress* progress = nullptr;
    throttle::copy_gate* gate = nullptr;
    const std::atomic<bool>& stop;

    std::vector<chunk> chunks;
    std::vector<size_t> pending;  // indexes into chunks, in id order
    size_t next = 0;

    bool failed = false;
    std::exception_ptr failure;
    int running = 0;
    int chunks_running = 0;    // workers inside a chunk (not waiting at the gate)
    std::vector<bool> active;  // by worker id (index 0 unused)
    const std::atomic<int>* live_workers = nullptr;
    int fixed_workers = 1;
    asio::steady_timer* wake = nullptr;  // the scheduler's tick, cut short when the last ends
    // By worker id: the connection running a chunk inside the server, which only a cancel
    // stops; cleared once cancelled (a second cancel could hit its ROLLBACK).
    std::vector<pg::async_connection*> in_server;
    bool relay_always = false;

    // wanted: how many workers should copy now.
    int wanted() const {
        const int n = live_workers ? live_workers->load() : fixed_workers;
        return std::max(1, std::min(n, 64));
    }
    bool more_chunks() const { return next < pending.size(); }

    bool halted() const { return failed || stop.load(std::memory_order_relaxed); }

    // piped: whether the next chunk goes through partshift. Only a pipe can keep to a
    // --max-copy-rate ceiling buffer by buffer; without one the rows stay in the server.
    bool piped() const { return relay_always || (gate && progress && progress->max_copy_rate > 0); }

    // cancel_stopped_chunks: on a stop, the cancel that ends each chunk running in the server.
    void cancel_stopped_chunks() {
        if (!halted()) return;
        for (auto*& conn : in_server)
            if (conn) {
                conn->cancel();
                conn = nullptr;
            }
    }
};

// in_server_chunk: registers a worker's connection as running a chunk inside the server for
// as long as it lives.
class in_server_chunk {
  public:
    in_server_chunk(copy_run& run, int worker, pg::async_connection& conn)
        : run_(run), worker_(static_cast<size_t>(worker)) {
        run_.in_server[worker_] = &conn;
    }
    ~in_server_chunk() { run_.in_server[worker_] = nullptr; }
    in_server_chunk(const in_server_chunk&) = delete;
    in_server_chunk& operator=(const in_server_chunk&) = delete;

  private:
    copy_run& run_;
    size_t worker_;
};

awaitable<void> run_worker(copy_run& run, int worker_id) {
    // The target's session; a chunk copied inside the server needs no other. A piped chunk
    // also reads through a source session, opened for the first one.
    auto target = co_await pg::async_connection::connect(
        run.dsn, run.application_name + "-dst-" + std::to_string(worker_id));
    std::optional<pg::async_connection> source;
    // Safe without flush-on-commit: the rows and their done record commit atomically, so a
    // crash loses both and the chunk is simply copied again.
    co_await target.exec("SET synchronous_commit = off");
    // A chunk copied inside the server runs to its end before the server notices that its
    // client is gone: after a kill -9 it would go on loading rows it can never commit, beside
    // the rerun copying the same ones. The server checks the client every second instead.
    co_await target.exec("SET client_connection_check_interval = '1s'");
    // A chunk holds rows as of its own snapshot, and the replay corrects them later: checking
    // them against live parent rows would fail a chunk whose parent was deleted since (23503),
    // lock every parent row FOR KEY SHARE meanwhile, and fire user triggers a second time.
    co_await pg::require_replica_role(target, "copy");
    // A piped chunk's rows travel in binary, but a chunk's bounds are key values in text, read
    // on the control connection and passed to these sessions.
    co_await pg::pin_text_formats(target);
    // The job's stream skips what this session writes (16+): the copied rows are never
    // decoded, nor spilled to pg_replslot/ as one large transaction per chunk.
    if (!run.origin_slot.empty()) {
        std::string origin = stream::origin_name(run.origin_slot, 'c', worker_id);
        co_await stream::use_origin(target, std::move(origin));
    }

    std::function<bool()> should_stop = [&run] { return run.halted(); };
    // A worker whose id is past the wanted count retires, between chunks.
    while (!run.halted() && run.next < run.pending.size() && worker_id <= run.wanted()) {
        // Throttled: wait here, between chunks, where no snapshot is held open.
        if (run.gate) {
            co_await run.gate->wait_open(should_stop);
            if (run.halted() || run.next >= run.pending.size()) break;
        }
        chunk& c = run.chunks[run.pending[run.next++]];
        std::optional<chunk_outcome> outcome;
        run.progress->chunks_running = ++run.chunks_running;
        struct leave_chunk {
            copy_run& run;
            ~leave_chunk() { run.progress->chunks_running = --run.chunks_running; }
        } leaving{run};
        try {
            if (run.piped()) {
                if (!source) {
                    source.emplace(co_await pg::async_connection::connect(
                        run.dsn, run.application_name + "-src-" + std::to_string(worker_id)));
                    co_await pg::pin_text_formats(*source);
                }
                outcome = co_await copy_chunk(*source, target, run.spec, run.job, c, should_stop,
                                              run.gate);
            } else {
                in_server_chunk registered(run, worker_id, target);
                outcome = co_await copy_chunk_in_server(target, run.spec, run.job, c, should_stop);
            }
        } catch (...) {
            if (!run.failed) {
                run.failed = true;
                run.failure = pg::with_context("copy of chunk " + std::to_string(c.id) + " " +
                                                   describe_bounds(c.bounds) + " of " +
                                                   run.spec.source + " failed: ",
                                               std::current_exception());
            }
            co_return;  // the connections are dropped here, which rolls back both sides
        }
        if (!outcome) {
            spdlog::info("copy: chunk {} {} stopped midway and rolled back", c.id,
                         describe_bounds(c.bounds));
            break;
        }
        c.done = true;
        c.rows = outcome->rows;
        c.high_lsn = outcome->high_lsn;
        run.progress->rows_copied += outcome->rows;
        run.progress->chunks_done += 1;
        // Its rows were counted in flight until now (an estimate; the next sample redoes it).
        run.progress->rows_in_flight =
            std::max<int64_t>(0, run.progress->rows_in_flight - outcome->rows);
    }
}

// worker_finished is the completion handler of one worker coroutine.
void worker_finished(copy_run& run, int worker_id, std::exception_ptr error) {
    run.active[static_cast<size_t>(worker_id)] = false;
    if (error && !run.failed) {
        // Errors outside a chunk (connecting): nothing was written, but the copy cannot go on.
        run.failure =
            pg::with_context("copy worker " + std::to_string(worker_id) + " failed: ", error);
        run.failed = true;
    }
    if (--run.running == 0 && run.wake) run.wake->cancel();
}

// copy_meter: the copy's live figures, sampled once a second by the scheduler: the rows the
// running chunks have written (an INSERT … SELECT reports none until it ends, and PostgreSQL
// has no progress view for it, so they are estimated from how much the target grew against
// the source's bytes per row), the rate over the last 30 s and the time left.
class copy_meter {
  public:
    awaitable<void> start(pg::async_connection& control, const copy_run& run) {
        try {
            source_bytes_ = co_await leaf_bytes(control, run.spec.source);
            target_bytes_at_start_ = co_await leaf_bytes(control, run.spec.target);
        } catch (const pg::pg_error&) {
            // Progress only: without the sizes no rows are counted in flight.
            source_bytes_ = 0;
        }
        rows_at_start_ = run.progress->rows_copied;
        last_ = std::chrono::steady_clock::now();
        rate_.add(last_, static_cast<double>(rows_at_start_));
    }

    awaitable<void> sample(pg::async_connection& control, const copy_run& run) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::seconds(1)) co_return;
        last_ = now;
        base::progress& p = *run.progress;
        const int64_t estimate = p.rows_estimate;
        const int64_t chunks = std::max<int64_t>(1, p.chunks_total);
        const double bytes_per_row =
            estimate > 0 && source_bytes_ > 0 ? static_cast<double>(source_bytes_) / estimate : 0;
        try {
            const int64_t target = co_await leaf_bytes(control, run.spec.target);
            p.rows_in_flight = monitor::rows_in_flight_estimate(
                target, target_bytes_at_start_, bytes_per_row, p.rows_copied - rows_at_start_,
                run.chunks_running * ((estimate + chunks - 1) / chunks));
        } catch (const pg::pg_error&) {
            // Progress only: a failed look leaves the last estimate.
        }
        const int64_t landed = p.rows_copied + p.rows_in_flight;
        rate_.add(now, static_cast<double>(landed));
        p.copy_rate = rate_.per_second().value_or(0);
        // Rows past the estimate with chunks still to go: the estimate was low, no ETA.
        const bool chunks_left = p.chunks_done < p.chunks_total;
        const double remaining = static_cast<double>(estimate - landed);
        p.copy_seconds_left =
            chunks_left && remaining <= 0
                ? -1
                : monitor::seconds_left(remaining, rate_.per_second()).value_or(-1);
    }

    static void finish(base::progress& p) {
        p.rows_in_flight = 0;
        p.chunks_running = 0;
        p.copy_seconds_left = -1;
    }

  private:
    // leaf_bytes: heap and TOAST bytes of a table (quoted, as the spec has it), or of its leaf
    // partitions (a plain table is its own only leaf).
    static awaitable<int64_t> leaf_bytes(pg::async_connection& conn, const std::string& table) {
        // Named, not temporaries in the co_await operand: GCC 12 mis-destroys those.
        // pg_partition_tree has no row for a table that is neither partitioned nor a
        // partition: then the table's own size.
        std::string sql =
            "SELECT coalesce((SELECT pg_catalog.sum(pg_catalog.pg_table_size(relid)) "
            "FROM pg_catalog.pg_partition_tree($1::regclass) WHERE isleaf), "
            "pg_catalog.pg_table_size($1::regclass))::bigint";
        auto params = pg::make_params(table);
        // pg_table_size locks each leaf (ACCESS SHARE): behind a session holding a stronger
        // lock on one (DDL, a LOCK TABLE) it would wait, and with it the control loop that
        // hears stop. A progress figure is not worth waiting for: a short lock_timeout, the
        // session's own setting back afterwards.
        std::string bounded = "SET lock_timeout = '200ms'";
        co_await conn.exec(std::move(bounded));
        std::optional<int64_t> bytes;
        std::exception_ptr failed;
        try {
            auto r = co_await conn.exec(std::move(sql), std::move(params));
            bytes = r.get_int(0, 0);
        } catch (...) {
            failed = std::current_exception();
        }
        std::string reset = "RESET lock_timeout";
        co_await conn.exec(std::move(reset));
        if (failed) std::rethrow_exception(failed);
        co_return *bytes;
    }

    int64_t source_bytes_ = 0;
    int64_t target_bytes_at_start_ = 0;
    int64_t rows_at_start_ = 0;
    std::chrono::steady_clock::time_point last_{};
    monitor::rate_meter rate_;
};

}  // namespace

awaitable<copy_result> run_copy(std::string dsn, std::string job, copy_spec spec,
                                copy_options options, base::progress& progress,
                                const std::atomic<bool>& stop) {
    auto ex = co_await asio::this_coro::executor;
    auto control = co_await pg::async_connection::connect(dsn, options.application_name);
    co_await pg::pin_text_formats(control);  // the chunk bounds are read here as text

    copy_run run(stop);
    run.dsn = dsn;
    run.job = job;
    run.application_name = options.application_name;
    run.origin_slot = options.origin_slot;
    run.spec = quote_spec(spec);
    run.progress = &progress;
    run.gate = options.gate;
    run.relay_always = options.relay_always;
    run.chunks = co_await plan_chunks(control, job, spec, options.chunking);

    int64_t rows_done = 0;
    int64_t chunks_done = 0;
    for (size_t i = 0; i < run.chunks.size(); ++i) {
        if (run.chunks[i].done) {
            rows_done += run.chunks[i].rows;
            ++chunks_done;
        } else {
            run.pending.push_back(i);
        }
    }
    if (spec.row_estimate > 0) progress.rows_estimate = spec.row_estimate;
    progress.chunks_total = static_cast<int64_t>(run.chunks.size());
    progress.chunks_done = chunks_done;
    progress.rows_copied = rows_done;
    spdlog::info("copy: {} of {} chunks pending, {} workers, {}", run.pending.size(),
                 run.chunks.size(), options.workers,
                 options.relay_always ? "through partshift (COPY)"
                                      : "inside the server (INSERT … SELECT; COPY through "
                                        "partshift while a --max-copy-rate ceiling is set)");

    run.fixed_workers = options.workers;
    run.live_workers = options.live_workers;
    run.active.assign(65, false);
    run.in_server.assign(65, nullptr);
    // start_workers: every wanted worker not running yet, while chunks are left.
    auto start_workers = [&run, ex] {
        const int wanted = std::min<int>(run.wanted(), static_cast<int>(run.pending.size()));
        for (int w = 1; w <= wanted && run.more_chunks() && !run.halted(); ++w) {
            if (run.active[static_cast<size_t>(w)]) continue;
            run.active[static_cast<size_t>(w)] = true;
            ++run.running;
            asio::co_spawn(ex, run_worker(run, w),
                           [&run, w](std::exception_ptr e) { worker_finished(run, w, e); });
        }
    };
    copy_meter meter;
    if (!run.pending.empty()) {
        co_await meter.start(control, run);
        start_workers();
        // Worker 1 is always wanted, so the copy ends only when no chunk is left, it failed
        // or it was stopped; meanwhile a raised count adds workers within a second.
        asio::steady_timer tick(ex);
        run.wake = &tick;
        while (run.running > 0) {
            tick.expires_after(std::chrono::milliseconds(500));
            boost::system::error_code ignored;
            co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            run.cancel_stopped_chunks();
            if (run.running > 0) start_workers();
            if (run.running > 0 && !run.halted()) co_await meter.sample(control, run);
        }
        run.wake = nullptr;
    }
    copy_meter::finish(progress);
    if (run.failure) std::rethrow_exception(run.failure);

    // Totals from the table, not from memory: it also counts chunks done by earlier runs.
    auto totals = co_await control.exec(
        "SELECT count(*), count(*) FILTER (WHERE done), coalesce(sum(rows) FILTER (WHERE done), "
        "0), coalesce(max(high_lsn)::text, '') FROM partshift.chunks WHERE job = $1",
        pg::make_params(job));
    copy_result result;
    result.chunks_total = static_cast<int>(totals.get_int(0, 0));
    result.chunks_done = static_cast<int>(totals.get_int(0, 1));
    result.rows_copied = totals.get_int(0, 2);
    result.max_high_lsn = totals.get(0, 3);
    result.completed = result.chunks_done == result.chunks_total;
    // max_chunk_high_lsn ends the idempotent window, so it is only meaningful once every chunk
    // is done; rows_copied is kept current for `status` either way.
    co_await control.exec(
        "UPDATE partshift.jobs SET rows_copied = $2, max_chunk_high_lsn = CASE WHEN $3 THEN "
        "nullif($4, '')::pg_lsn ELSE max_chunk_high_lsn END, updated_at = now() WHERE job = $1",
        pg::make_params(job, result.rows_copied, result.completed, result.max_high_lsn));
    spdlog::info("copy: {} — {}/{} chunks, {} rows, max high LSN {}",
                 result.completed ? "complete" : "stopped", result.chunks_done, result.chunks_total,
                 result.rows_copied, result.max_high_lsn);
    co_return result;
}

copy_result copy_table(const std::string& dsn, const std::string& job, const copy_spec& spec,
                       const copy_options& options, base::progress& progress,
                       const std::atomic<bool>& stop) {
    asio::io_context io;
    std::atomic<bool> finished{false};
    std::promise<copy_result> promise;
    auto future = promise.get_future();
    asio::co_spawn(io, run_copy(dsn, job, spec, options, progress, stop),
                   [&](std::exception_ptr e, copy_result r) {
                       finished = true;
                       if (e)
                           promise.set_exception(e);
                       else
                           promise.set_value(std::move(r));
                   });
    asio::co_spawn(io, monitor::show_copy_progress(progress, finished, job), asio::detached);
    io.run();
    return future.get();
}

}  // namespace partshift::copy
