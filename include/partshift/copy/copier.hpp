// copier: the copy phase. Plans (or reloads) the job's chunks and copies every pending one
// with N parallel workers, each a coroutine owning a target connection (and a source one for
// piped chunks), all on the caller's io_context. A chunk is copied inside the server (INSERT …
// SELECT: the rows never pass through partshift) unless a --max-copy-rate ceiling is in
// effect, which only a pipe through partshift can keep to, buffer by buffer, or the pipe is
// asked for (--copy-method copy). Updates the progress counters and, at the end, the job's
// rows_copied and max_chunk_high_lsn.
// Must not decode, apply or build indexes; must not hold rows beyond one buffer per worker.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "partshift/base/progress.hpp"
#include "partshift/copy/chunk_planner.hpp"
#include "partshift/copy/copy_spec.hpp"
#include "partshift/throttle/copy_gate.hpp"

namespace partshift::copy {

struct copy_options {
    int workers = 2;  // --copy-workers
    // Live worker count (partshift set --copy-workers, read by the job monitor): workers are
    // added or retired between chunks to follow it; null = `workers` throughout.
    const std::atomic<int>* live_workers = nullptr;
    chunk_options chunking;
    std::string application_name = "partshift-copy";
    // Throttling and the --max-copy-rate ceiling; none = copy at full speed.
    throttle::copy_gate* gate = nullptr;
    // Pipe every chunk through partshift (binary COPY out and in), ceiling or not.
    bool relay_always = false;
    // The job's slot when its stream filters by origin (stream/origin_filter.hpp): worker n's
    // target session then sets origin_name(origin_slot, 'c', n), so the walsender skips the
    // copied rows instead of decoding (and spilling) them. Empty: no origins.
    std::string origin_slot;
};

struct copy_result {
    bool completed = false;  // false: stopped before every chunk was done (resume later)
    int chunks_total = 0;
    int chunks_done = 0;       // including chunks done by earlier runs
    int64_t rows_copied = 0;   // over all done chunks, earlier runs included
    std::string max_high_lsn;  // max over done chunks (pg_lsn text); "" when none is done
};

// run_copy copies the job's source into its target. `dsn` reaches the database that holds
// source, target and the partshift schema; the job's row must exist in partshift.jobs.
// Setting `stop` makes workers finish no further chunk: in-flight chunks are rolled back and
// the result says completed = false. A failing chunk stops the copy and throws
// runtime_error naming the chunk and its key range.
boost::asio::awaitable<copy_result> run_copy(std::string dsn, std::string job, copy_spec spec,
                                             copy_options options, base::progress& progress,
                                             const std::atomic<bool>& stop);

// copy_table: run_copy on a private io_context, with the progress bar; blocks. For callers
// that have no io_context of their own (tests, a copy-only command).
copy_result copy_table(const std::string& dsn, const std::string& job, const copy_spec& spec,
                       const copy_options& options, base::progress& progress,
                       const std::atomic<bool>& stop);

}  // namespace partshift::copy
