// applier_options: how the applier replays (connection, job, batching, pipelining, set-based
// apply) and which relations it replays to which targets. Plain data: no defaults that
// depend on a job (the fence prefix, which does, is a required constructor argument of the
// applier) and no logic here.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

struct applier_options {
    std::string dsn;  // the database holding source, target and partshift.jobs
    std::string job;  // partshift.jobs.job: where the applied LSN is saved
    // Single-table constructor only (relation_target says it per relation otherwise): the
    // partitioned target (unquoted names).
    catalog::qualified_name target;
    // End of the idempotent window: the highest chunk high LSN. Transactions committed at or
    // before it are applied idempotently, later ones strictly. nullopt: read
    // partshift.jobs.max_chunk_high_lsn at start (NULL there means "0": strict from the start).
    std::optional<stream::lsn_t> idempotent_until;
    // A target transaction commits at a source commit once it holds this many source
    // transactions, or once it has been open this long, or when the feed is caught up.
    int max_batch_transactions = 1000;
    std::chrono::milliseconds max_batch_delay{500};
    // ... but when caught up, a batch younger than this waits that long for more source
    // commits first (a target commit per source commit would double the server's commit
    // work while following). A batch holding the cutover fence commits at once.
    std::chrono::milliseconds min_batch_age{50};
    // Statements queued before a pipeline sync: bounds memory and the size of a failed segment.
    int pipeline_depth = 1000;
    std::string application_name = "partshift-apply";
    // The job's slot when its stream filters by origin: each apply lane's session sets an
    // origin of its own, stream::origin_name(origin_slot, 'a', lane + 1), so a stream read
    // with origin 'none' skips what it writes; empty: none.
    std::string origin_slot;
    // Apply lanes (--apply-workers, 1..max_apply_workers): sessions, each with its own batch
    // and checkpoint, that changes are routed to by key (lane_routing.hpp). nullopt: what the
    // job's row says (partshift.jobs.apply_workers, NULL = 1).
    std::optional<int> apply_workers;
    // Single-table constructor only, as `target`. The target's partition key columns (both
    // levels). A strict-mode UPDATE looks for its row in the partition of its new values
    // first, so the server prunes to one partition instead of probing every partition's key
    // index; empty: no such lookups.
    std::vector<std::string> partition_columns;
    // Set-based apply in strict mode: runs of consecutive INSERTs, DELETEs, or UPDATEs with
    // the same column mask (distinct keys) go as one statement over unnested arrays, up to
    // these many rows and bytes of values per statement (memory stays bounded: inv. 6).
    // The apply session turns hash and merge joins off, so the generic plan joins the rows to
    // the target by key-index probes (with run-time partition pruning when the key holds the
    // partition key), never by a hash join over sequential scans of every partition.
    bool set_based = true;
    // synchronous_commit = off on the apply session: a batch commit does not wait for the
    // target's WAL flush (the clients' commits share that disk). Exactness is kept: the
    // applied LSN commits with the changes, so a lost commit loses both; what must not run
    // ahead of the flush (deleting spool segments) follows durable_applied_lsn().
    bool asynchronous_commit = true;
    // Fault injection for tests (an applier slower than the source): a pause after each source
    // transaction. Zero outside tests.
    std::chrono::milliseconds test_delay_per_transaction{0};
    // ... and one more, added while a cutover is under way (from the gate's opening on): a
    // tail that drains slower under the lock than the pace the gate estimated it by.
    std::chrono::milliseconds test_delay_in_cutover{0};
    // ... and, with several lanes, a pause after each lane's batch commit but the last: lanes
    // that stand apart for a kill -9 test to find.
    std::chrono::milliseconds test_pause_between_lanes{0};
    int max_group_rows = 1000;
    size_t max_group_bytes = 4 * 1024 * 1024;
};

// relation_target: one relation the applier replays: changes whose relid is source->oid go
// to target.
struct relation_target {
    const catalog::table_model* source;          // must outlive the applier; its oid is the relid
    catalog::qualified_name target;              // the partitioned target (unquoted names)
    std::vector<std::string> partition_columns;  // as applier_options::partition_columns
    // partshift.skipped_keys rows of this relation are stored under this job name (a
    // multi-table job passes each table's member job name, so keys of two tables never mix);
    // empty = applier_options::job.
    std::string skipped_keys_job;
};

}  // namespace partshift::apply
