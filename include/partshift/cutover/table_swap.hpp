// table_swap: the swap at the heart of the cutover (DESIGN.md §1 step 7). Inside the caller's
// transaction, which already holds ACCESS EXCLUSIVE on the source, it renames the source away
// and the partitioned target into its place, and carries every dependent object over: index
// and constraint names, owned and identity sequences, dependent views, ownership, grants, row
// level security, comments, column settings, triggers, replica identity, publication
// membership and inbound foreign keys. It must not begin, commit or roll back the transaction
// (the caller owns it, so a failure leaves the source exactly as it was: invariant 5), and must
// not change the old table beyond renaming it and its indexes and identity sequences
// (invariant 4); inbound foreign keys are the one place it alters other tables.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::cutover {

struct swap_request {
    catalog::qualified_name source;   // the original table (unquoted names), e.g. {public, events}
    std::string target_table;         // the partitioned table in the same schema, e.g. events_new
    std::string old_name;             // the name the original table gets, e.g. events_old
    std::string publication_to_skip;  // partshift's own publication (never moved): partshift_<job>
    bool drop_unrepointable_fks = false;  // inbound FKs whose columns are not unique on the target
    // old_suffix: appended (fitted to 63 bytes) to the old table's index, constraint and
    // identity sequence names, which the partitioned table takes over.
    std::string old_suffix = "_old";
    // target_index_suffix: how the target's copies of the source's indexes are named: the plan
    // names them source index + "_new" (…"_new_2" when taken).
    std::string target_index_suffix = "_new";
    // reverting: the swap back of a revert window (issue 10): the source is the partitioned
    // table, the target the original plain table kept as NAME_old, whose indexes carry the
    // forward swap's "_old" names (target_index_suffix "_old"). Everything else is the same.
    bool reverting = false;
    // keep_inbound_from: the tables of a multi-table job swapped in the same transaction. Their
    // foreign keys to this table stay on the old tables (between NAME_old and the other's old
    // table); the partitioned tables were given theirs before the copy.
    std::vector<catalog::qualified_name> keep_inbound_from;
    // recheck_schema: called under ACCESS EXCLUSIVE when something the weaker lock of
    // prepare_swap let through changed since (a grant, a comment, a new dependent), before the
    // catalog is read again; throws to stop the job (the job's recorded schema print).
    std::function<void(pg::connection&)> recheck_schema;
};

struct swap_outcome {
    std::vector<std::string> steps;             // one short human line per step, for the log
    std::vector<std::string> after_commit_sql;  // e.g. ALTER TABLE ... VALIDATE CONSTRAINT ...
};

// swap_preparation: the catalog as read by prepare_swap, for the swap that follows in the
// same transaction. Opaque; move-only.
class swap_preparation {
  public:
    swap_preparation();
    ~swap_preparation();
    swap_preparation(swap_preparation&&) noexcept;
    swap_preparation& operator=(swap_preparation&&) noexcept;

  private:
    struct state;
    std::unique_ptr<state> state_;
    friend swap_preparation prepare_swap(pg::connection&, const swap_request&);
    friend swap_outcome swap_tables(pg::connection&, const swap_request&, swap_preparation*);
};

// prepare_swap: the swap's catalog reads, done before the ACCESS EXCLUSIVE lock so they are
// not part of the lock hold, inside the caller's transaction, which must already hold SHARE
// UPDATE EXCLUSIVE on the source and the target (no DDL can change them meanwhile; writes go
// on). Sets search_path to '' for the rest of the transaction (swap_tables restores it).
swap_preparation prepare_swap(pg::connection& conn, const swap_request& request);

// swap_tables: run inside the caller's transaction holding ACCESS EXCLUSIVE on the source.
// With `prepared` (from prepare_swap in the same transaction), the catalog is not read again
// unless a privilege, comment or dependent view changed since; without, it is read here.
// Throws pg::pg_error / partshift::runtime_error naming the failing step (and statement); the
// caller rolls back, which leaves the source exactly as it was (invariant 5). Besides the source
// it locks the target and its partitions, every dependent view, every table whose foreign key
// references the source (ACCESS EXCLUSIVE, to drop and re-add the constraint) and the tables in
// the moved publications' lists; each wait is bounded by the caller's lock_timeout.
swap_outcome swap_tables(pg::connection& conn, const swap_request& request,
                         swap_preparation* prepared = nullptr);

// finish_after_commit: runs after_commit_sql (FK validation etc.), each in its own statement;
// a failure is logged as a warning with the statement, never thrown (the swap is committed).
void finish_after_commit(pg::connection& conn, const swap_outcome& outcome);

}  // namespace partshift::cutover
