// chunk_planner: splits the source into key ranges and records them once in partshift.chunks.
// A single integer key is split arithmetically between min and max; any other key (text,
// uuid, composite, ...) by boundaries sampled from the data in key order. Persisting is
// idempotent: a job that already has chunks reuses them (resume).
// Must not copy rows (chunk_copier) or hold the table in memory: only boundaries come back.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/copy/chunk.hpp"
#include "partshift/copy/chunk_sql.hpp"
#include "partshift/copy/copy_spec.hpp"
#include "partshift/pg/async_connection.hpp"

namespace partshift::copy {

struct chunk_options {
    // target_rows: rows per chunk when rows are small. Short chunks keep each source snapshot
    // brief (xmin is not pinned for long) and make resume lose little work.
    int64_t target_rows = 50'000;
    // max_chunk_bytes: the target transaction of a chunk is decoded by the walsender too (same
    // database); staying well under logical_decoding_work_mem (64MB) keeps it from spilling
    // to pg_replslot (PGOUTPUT.md, operational traps). Estimated from the table's size per row.
    int64_t max_chunk_bytes = 16 << 20;
    // integer keys are split arithmetically only when max - min + 1 is at most this many times
    // the row estimate; sparser keys would give badly uneven chunks, so they are sampled.
    int64_t max_integer_sparsity = 10;
};

// rows_per_chunk: target_rows, lowered so that rows × (total_bytes / row_estimate) stays under
// max_chunk_bytes; at least 1.
int64_t rows_per_chunk(int64_t row_estimate, int64_t total_bytes, const chunk_options& options);

// integer_ranges: ranges of `step` keys starting at min: (-inf, min+step), [min+step,
// min+2·step), …, [last, +inf). One unbounded chunk when min..max fits in one step. Safe over
// the whole int64 range.
std::vector<chunk_bounds> integer_ranges(int64_t min, int64_t max, int64_t step);

// dense_integer_ranges: ranges for a single integer key spanning min..max, sized so that a dense
// key gives chunks of about per_chunk rows; nullopt when the key is too sparse for arithmetic
// (max - min + 1 > max_integer_sparsity × estimate), so the caller samples boundaries instead.
// Pure; shared by the copier and verify.
std::optional<std::vector<chunk_bounds>> dense_integer_ranges(int64_t min, int64_t max,
                                                              int64_t estimate, int64_t per_chunk,
                                                              const chunk_options& options);

// ranges_from_boundaries: (-inf, b1), [b1, b2), …, [bn, +inf); boundaries sorted ascending.
std::vector<chunk_bounds> ranges_from_boundaries(const std::vector<key_value>& boundaries);

// number_chunks gives ids 1..n in order.
std::vector<chunk> number_chunks(const std::vector<chunk_bounds>& ranges);

// quote_spec quotes every identifier of the spec with pg::escape_identifier.
quoted_copy_spec quote_spec(const copy_spec& spec);

// plan_chunks returns the job's chunks in id order: the stored ones when partshift.chunks
// already has rows for the job, otherwise freshly planned ones, inserted in one transaction.
// conn: any connection to the source database (partshift.chunks lives there too).
boost::asio::awaitable<std::vector<chunk>> plan_chunks(pg::async_connection& conn,
                                                       const std::string& job,
                                                       const copy_spec& spec,
                                                       const chunk_options& options = {});

// load_chunks reads the stored chunks of a job (empty when none), id order.
boost::asio::awaitable<std::vector<chunk>> load_chunks(pg::async_connection& conn,
                                                       const std::string& job, size_t key_columns);

}  // namespace partshift::copy
