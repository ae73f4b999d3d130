// progress: the counters every role updates and status, the progress bar and the metrics read.
// One struct of atomics shared by reference (STYLE.md habit 8); no locking needed to read.
#pragma once

#include <atomic>
#include <cstdint>

namespace partshift::monitor {

struct progress {
    // copy
    std::atomic<int64_t> rows_estimate{0};
    std::atomic<int64_t> rows_copied{0};
    std::atomic<int64_t> chunks_total{0};
    std::atomic<int64_t> chunks_done{0};
    // stream
    std::atomic<uint64_t> received_lsn{0};    // latest WAL position the walsender reported
    std::atomic<uint64_t> spooled_lsn{0};     // durable position acknowledged to the slot
    std::atomic<uint64_t> spooled_commit_lsn{0};  // last commit end LSN fsynced to the spool
    std::atomic<int64_t> changes_spooled{0};
    // apply
    std::atomic<uint64_t> applied_lsn{0};     // last commit end LSN committed on the target
    std::atomic<int64_t> changes_applied{0};
    // Changes the target has executed, committed or still in the open batch: the apply rate,
    // which must move during one huge source transaction too.
    std::atomic<int64_t> changes_written{0};
    std::atomic<int64_t> transactions_applied{0};
    std::atomic<int64_t> oldest_unapplied_commit_us{0};  // pg epoch µs; 0 = nothing pending
    std::atomic<bool> strict_mode{false};
    // Strict-mode updates looked up in the partition of their new values: found there, or
    // not (the partition key changed; then updated by key alone).
    std::atomic<int64_t> updates_in_partition{0};
    std::atomic<int64_t> updates_relocated{0};
};

}  // namespace partshift::monitor
