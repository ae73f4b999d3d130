// chunk_copier: one chunk, in one transaction inside the server or in two joined by a pipe.
// Must not plan or schedule chunks.
#include "partshift/copy/chunk_copier.hpp"

#include <exception>

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::copy {
namespace {

using boost::asio::awaitable;

// abandon_chunk rolls both sides back after a stop: the target's COPY is ended with an error
// (which aborts its transaction), the source's COPY is cancelled and drained. Best effort:
// any failure here leaves a connection the caller should drop, and the data was never
// committed either way.
awaitable<void> abandon_chunk(pg::async_connection& source, pg::async_connection& target) {
    try {
        co_await target.end_copy("partshift: copy stopped");
    } catch (const pg::pg_error&) {
        // expected: the COPY was aborted on purpose
    }
    co_await target.exec("ROLLBACK");
    source.cancel();
    try {
        while (co_await source.read_copy()) {
        }
        co_await source.finish_copy();
    } catch (const pg::pg_error&) {
        // expected: 57014 query_canceled
    }
    co_await source.exec("ROLLBACK");
}

// open_chunk_snapshot begins the chunk's REPEATABLE READ transaction on `conn` (begin_sql
// names it) and returns the chunk's high LSN. The snapshot is taken by the first query after
// BEGIN (LOCK takes none), and the insert LSN read in that same statement covers every commit
// the snapshot can see (including asynchronous commits not yet flushed). The lock the copy
// would take anyway is taken before the snapshot: a TRUNCATE committed after the snapshot
// would otherwise empty this chunk although its high LSN precedes it.
awaitable<std::string> open_chunk_snapshot(pg::async_connection& conn, const char* begin_sql,
                                           const quoted_copy_spec& spec, const chunk& c) {
    co_await conn.exec(begin_sql);
    co_await conn.exec(lock_source_sql(spec));
    auto snap = co_await conn.exec(snapshot_sql(c.bounds), snapshot_params(c.bounds));
    co_return snap.get(0, 0);
}

// record_done marks the chunk done, with its rows and high LSN, in the transaction that wrote
// its rows (invariant 2).
awaitable<void> record_done(pg::async_connection& target, const std::string& job, const chunk& c,
                            const chunk_outcome& outcome) {
    auto recorded = co_await target.exec(
        "UPDATE partshift.chunks SET done = true, rows = $3, high_lsn = $4::pg_lsn, "
        "copied_at = now() WHERE job = $1 AND chunk_id = $2::integer AND NOT done",
        pg::make_params(job, c.id, outcome.rows, outcome.high_lsn));
    if (std::string(PQcmdTuples(recorded.native())) != "1")
        // Another runner finished this chunk, or the job's chunks were removed: committing
        // would duplicate rows, so roll back (by dropping the connection) and say so.
        throw runtime_error("chunk " + std::to_string(c.id) + " of job " + job +
                            " is no longer pending in partshift.chunks; is another partshift "
                            "run copying this job?");
}

}  // namespace

awaitable<std::optional<chunk_outcome>> copy_chunk(pg::async_connection& source,
                                                   pg::async_connection& target,
                                                   const quoted_copy_spec& spec,
                                                   const std::string& job, const chunk& c,
                                                   const std::function<bool()>& should_stop,
                                                   throttle::copy_gate* gate) {
    chunk_outcome outcome;
    outcome.high_lsn = co_await open_chunk_snapshot(
        source, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", spec, c);

    co_await target.exec("BEGIN");
    co_await source.exec(copy_out_sql(spec, c.bounds));
    co_await target.exec(copy_in_sql(spec));

    std::string buffer;
    buffer.reserve(copy_buffer_bytes + 64 * 1024);  // one row may overshoot
    int64_t buffered_rows = 0;
    // Rows are gathered into one buffer and written when it is full. (Not try_read_copy():
    // when it meets the end of the COPY it reports "nothing buffered" and the end is lost.)
    while (auto row = co_await source.read_copy()) {
        buffer.append(row->view());
        ++buffered_rows;
        if (buffer.size() < copy_buffer_bytes) continue;
        // The ceiling slows the reading too: the source's COPY waits behind a full socket.
        if (gate) co_await gate->pace(buffered_rows, should_stop);
        if (should_stop()) {
            co_await abandon_chunk(source, target);
            co_return std::nullopt;
        }
        co_await target.write_copy(buffer);
        buffer.clear();
        buffered_rows = 0;
    }
    if (!buffer.empty()) {
        if (gate) co_await gate->pace(buffered_rows, should_stop);
        co_await target.write_copy(buffer);
    }
    co_await source.finish_copy();
    auto copied = co_await target.end_copy();
    outcome.rows = std::stoll(PQcmdTuples(copied.native()));

    co_await record_done(target, job, c, outcome);
    co_await target.exec("COMMIT");
    // Read-only: ending it only releases the snapshot, so the source's xmin moves on.
    co_await source.exec("COMMIT");
    co_return outcome;
}

awaitable<std::optional<chunk_outcome>> copy_chunk_in_server(pg::async_connection& conn,
                                                             const quoted_copy_spec& spec,
                                                             const std::string& job, const chunk& c,
                                                             const std::function<bool()>& stopped) {
    chunk_outcome outcome;
    bool committed = false;
    try {
        // The INSERT reads the source under the snapshot that gave the high LSN (REPEATABLE
        // READ), and its rows commit with the done record.
        outcome.high_lsn =
            co_await open_chunk_snapshot(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", spec, c);
        auto inserted = co_await conn.exec(insert_select_sql(spec, c.bounds));
        outcome.rows = std::stoll(PQcmdTuples(inserted.native()));
        co_await record_done(conn, job, c, outcome);
        co_await conn.exec("COMMIT");
        committed = true;
    } catch (const pg::pg_error& e) {
        // The copier cancels the statement of a stopped run; anything else is a failure.
        if (e.sqlstate() != pg::sqlstate::query_canceled || !stopped()) throw;
    }
    if (committed) co_return outcome;
    co_await conn.exec("ROLLBACK");  // idle again, reusable
    co_return std::nullopt;
}

}  // namespace partshift::copy
