// chunk_copier: copies one chunk, source snapshot → target, and commits the rows on the target
// in the same transaction as the chunk's done record and high LSN (invariant 2: a chunk is
// either fully copied and recorded, or not at all). Two ways: copy_chunk_in_server, one
// INSERT … SELECT in one transaction (the rows never leave the server); copy_chunk, a binary
// COPY pipe between two transactions through partshift, which can pace every buffer to a
// --max-copy-rate ceiling.
// Must not pick chunks or open connections (copier) and never holds a chunk in memory: at most
// one write buffer (copy_buffer_bytes) of rows is in flight.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "partshift/copy/chunk.hpp"
#include "partshift/copy/chunk_sql.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/throttle/copy_gate.hpp"

namespace partshift::copy {

// Rows are gathered up to this size before one write to the target: one send per row would
// cost a syscall per row, and a bounded buffer keeps memory flat whatever the chunk size.
inline constexpr size_t copy_buffer_bytes = 256 * 1024;

struct chunk_outcome {
    int64_t rows = 0;
    std::string high_lsn;  // pg_current_wal_insert_lsn() read inside the chunk's snapshot
};

// copy_chunk copies `c` from `source` to `target` (two connections to the same database, both
// idle). Returns nullopt when should_stop() turned true mid-chunk (polled once per buffer): both
// transactions are rolled back and both connections are left idle and reusable. With a gate,
// each buffer waits for the --max-copy-rate ceiling before it is written. Throws pg_error /
// runtime_error on failure; the connections are then in an unknown state and must be dropped
// (dropping rolls back).
boost::asio::awaitable<std::optional<chunk_outcome>> copy_chunk(
    pg::async_connection& source, pg::async_connection& target, const quoted_copy_spec& spec,
    const std::string& job, const chunk& c, const std::function<bool()>& should_stop,
    throttle::copy_gate* gate = nullptr);

// copy_chunk_in_server copies `c` with one INSERT … SELECT on `conn` (idle, session set for
// the target: replica role). Its snapshot, high LSN, rows and done record are one REPEATABLE
// READ transaction. A stop is the caller's to deliver: it cancels the running statement, and
// when stopped() is then true the transaction is rolled back and nullopt returned with the
// connection idle. Throws pg_error / runtime_error on failure (drop the connection).
boost::asio::awaitable<std::optional<chunk_outcome>> copy_chunk_in_server(
    pg::async_connection& conn, const quoted_copy_spec& spec, const std::string& job,
    const chunk& c, const std::function<bool()>& stopped);

}  // namespace partshift::copy
