// wal_guard: how close the job's slot is to being invalidated for the WAL it pins, and what
// to do about it (DESIGN.md: the slot pins WAL on the primary; max_slot_wal_keep_size lets
// the server invalidate it; on PostgreSQL 18 idle_replication_slot_timeout invalidates a slot
// nobody read for that long). Pure: takes one reading of pg_replication_slots, returns a level.
// Must not read the server or act; the throttler does both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace partshift::throttle {

// slot_wal_reading: one row of pg_replication_slots for the slot, and the server's limit.
struct slot_wal_reading {
    std::string wal_status;                     // reserved, extended, unreserved, lost
    int64_t retained_bytes = 0;                 // pg_current_wal_lsn() - restart_lsn
    std::optional<int64_t> safe_wal_bytes;      // safe_wal_size; none without a server limit
    std::optional<int64_t> server_limit_bytes;  // max_slot_wal_keep_size; none when -1
    std::string invalidation_reason;   // PostgreSQL 17+: wal_removed, idle_timeout, ...; or ""
    int64_t idle_timeout_seconds = 0;  // PostgreSQL 18 idle_replication_slot_timeout; 0 = off
};

// Fractions of the limit at which the guard warns, throttles the copy, and stops the run.
// Stop stays clear of 1.0: the server invalidates at its next checkpoint past the limit,
// and WAL keeps coming while partshift winds down.
struct wal_guard_thresholds {
    double warn = 0.50;
    double throttle = 0.75;
    double stop = 0.90;
};

enum class wal_guard_level { ok, warn, throttle, stop, lost };

struct wal_guard_verdict {
    wal_guard_level level = wal_guard_level::ok;
    double used = 0;            // fraction of the limit in use; 0 without a limit
    int64_t limit_bytes = 0;    // the limit judged against; 0 = none
    bool unreserved = false;    // the server no longer reserves the WAL (wal_status)
    bool idle_timeout = false;  // lost: invalidated for idleness, not for WAL
    std::string message;        // one sentence, for the log, status and the error
};

// assess_slot_wal judges a reading against the smaller of the server's limit and
// `own_limit` (run --slot-wal-limit, for a server without one). Without any limit only
// `lost` and `unreserved` (the server itself says the WAL is no longer reserved) count.
wal_guard_verdict assess_slot_wal(const slot_wal_reading& reading, std::optional<int64_t> own_limit,
                                  const wal_guard_thresholds& thresholds = {});

// idle_timeout_warning: for a slot with idle_replication_slot_timeout in effect, the sentence
// that says a stopped job must be resumed within it; "" when the server has no such timeout.
std::string idle_timeout_warning(const slot_wal_reading& reading);

}  // namespace partshift::throttle
