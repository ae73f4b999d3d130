// verifier: compares a job's plain table with its partitioned table by row counts and chunked
// content checksums, key range by key range of the apply key (DESIGN.md §3 verify/), and
// reports mismatched ranges and source keys present more than once in the partitioned table.
// Used by `partshift verify` and, before the swap, by `run --verify`.
// Must not change anything: read-only transactions on the source database, plus polling
// partshift.jobs while it waits for the applier. Never pulls rows to the client: only counts,
// digests, chunk boundaries and bounded lists of keys.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "partshift/state/job_store.hpp"
#include "partshift/verify/verify_report.hpp"

namespace partshift::verify {

// applier_wait: whether a differing range is rechecked only after the applier has applied the
// source up to the position where the range was read.
enum class applier_wait {
    automatic,  // wait when a run holds the job's slot and the tables are not swapped yet
    always,     // wait (run --verify: the caller's own applier is running)
    never,      // compare as is (nothing applies changes: after cutover, or a stopped job)
};

struct verify_options {
    // chunk_rows: rows per key range. Smaller ranges make a mismatch report narrower and a
    // range less likely to keep changing under load; each costs two indexed range scans.
    int64_t chunk_rows = 20'000;
    applier_wait wait = applier_wait::automatic;
    // applier_timeout: the longest one wait for the applier may take; a range whose position
    // the applier did not reach in time is reported as still changing, never as a mismatch,
    // and so is every later range that differs (the applier is far behind: no more waits).
    std::chrono::milliseconds applier_timeout{20'000};
    // recheck_budget: the total time rechecks may take over the whole table (reading it once
    // is not counted); ranges left when it is spent are reported as still changing.
    std::chrono::milliseconds recheck_budget{120'000};
    // max_rounds: rechecks of one differing key before it counts as still changing.
    int max_rounds = 8;
    // confirmations: rounds in a row a key must differ with its source unchanged before it is
    // a mismatch (2: a change reverted between two rounds cannot pass for a difference).
    int confirmations = 2;
    // max_keys_per_pass: differing keys of one range followed at once; a range with more is
    // diffed again once those have settled.
    int max_keys_per_pass = 1000;
    // max_keys_in_flight: differing keys of all ranges rechecked together (one wait for the
    // applier serves them all); the client memory bound of the rechecks.
    int max_keys_in_flight = 20'000;
    int max_reported_keys = 5;          // keys listed per range in the report
    int max_reported_duplicates = 100;  // duplicate keys listed in the report
    // wait_for_applier: returns true once the applier has applied the source up to the LSN,
    // false when the timeout ran out. Empty: poll partshift.jobs (applier_watch). A caller that
    // runs the applier in its own process may answer from its counters instead.
    std::function<bool(state::lsn_t, std::chrono::milliseconds)> wait_for_applier;
    // stop: when set, verify_job gives up between statements with runtime_error.
    const std::atomic<bool>* stop = nullptr;
};

// verify_job compares the tables of `job` (which ones: table_pair, from the catalog).
// It BLOCKS the calling thread: plain libpq on its own connection to `dsn`, and sleeps while
// it waits for the applier. A caller running an event loop (run --verify) must call it from
// another thread, or the applier it waits for cannot advance.
// How long: one pass reads every row of both tables once (two indexed range scans per key
// range, about as long as a sequential read of both); then the keys of every range that
// differed are rechecked together, for at most recheck_budget (default 2 min; each wait for
// the applier at most applier_timeout, 20 s, and only one wait may run out). With an idle
// applier a round waits a few seconds (applier_watch) and a real difference takes two rounds;
// under write load differing keys settle within a second or two of the applier passing them.
// Throws usage_error when the job is still being copied (nothing to compare yet), and
// runtime_error (exit 1) when a table is missing, the plain table has no apply key, or a
// statement fails.
report verify_job(const std::string& dsn, const state::job_record& job,
                  const verify_options& options = {});

}  // namespace partshift::verify
