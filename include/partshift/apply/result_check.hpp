// result_check: what the applier expects of each statement it queues (a `pending` record per
// statement) and what a result means: rows affected, the row a set-based statement reported,
// and the divergence or failure to report, worded once. Strict mode turns a wrong row count
// into a divergence that stops the job; the checkpoint's own count means another run moved it.
// Must not: send anything or touch a connection (apply_session reads the results and calls
// these); everything here but affected_rows and first_reported_row is pure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "partshift/apply/relation_state.hpp"
#include "partshift/apply/row_grouping.hpp"
#include "partshift/apply/sql_builder.hpp"
#include "partshift/pg/params.hpp"
#include "partshift/pg/result.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

// check: what a statement's result must show.
// located: an UPDATE in the partition of the new values, which may find nothing; the
// fallback (the plain update by key, checked for one row) then runs before anything
// else touches that key.
// set: a set-based statement over a row group; it returns the rows that diverged.
// wal_positions: the target's WAL insert and flush positions read after a COMMIT.
enum class check : uint8_t { none, one_row, insert, probe, located, set, wal_positions };

// pending: one queued statement whose results are still to be read.
struct pending {
    pending(const relation_state* rel, check e, const char* op, pg::param_list k, stream::lsn_t lsn)
        : relation(rel), expect(e), operation(op), key(std::move(k)), commit_lsn(lsn) {}
    const relation_state* relation = nullptr;  // null: not a change (BEGIN, checkpoint, …)
    check expect = check::none;
    const char* operation = "";
    pg::param_list key;            // only for checked statements, to name the key in an error
    stream::lsn_t commit_lsn = 0;  // the source transaction it belongs to
    const statement* fallback = nullptr;  // check::located only
    pg::param_list fallback_params;
    std::shared_ptr<const group_rows> group;  // check::set only
};

// affected_rows: rows returned, or rows an INSERT/UPDATE/DELETE reported (0 if none).
int64_t affected_rows(const pg::result& r);

// row_verdict: what a successful statement's row count means, when it is no divergence.
enum class row_verdict : uint8_t {
    fine,          // nothing to do
    probe,         // a probe: the caller keeps the count
    in_partition,  // a located update found its row in the partition of its new values
    moved,         // a located update found nothing there: run its fallback by key
};
// check_rows: the verdict on `rows` for a statement other than a set statement. Throws
// runtime_error for a divergence (strict checks), and for a checkpoint that updated no row
// (`job` vanished, or another run moved its applied LSN past this batch).
row_verdict check_rows(const pending& p, int64_t rows, const std::string& job);

// reported_row: a row a set statement returned: its 1-based row number in the group and how
// many target rows it found (-1: none returned).
struct reported_row {
    int64_t row = -1;
    int64_t found = 0;
};
// first_reported_row: of a set statement's result, the row earliest in row order.
reported_row first_reported_row(const pg::result& r);
// group_member: the pending record of row `row` (1-based) of a set statement, as the row-by-row
// statement would have had it (check::one_row). Throws runtime_error (internal error) when
// the row is not in the group.
pending group_member(const pending& set, int64_t row);
// throw_set_divergence: the divergence of the reported row of a (not located) set statement.
[[noreturn]] void throw_set_divergence(const pending& set, reported_row reported);

// throw_divergence: "divergence in strict mode: UPDATE of key (id)=(5) of … in the source
// transaction committed at 0/1A2B: <detail>" (runtime_error).
[[noreturn]] void throw_divergence(const pending& p, const std::string& detail);
// throw_statement_error: a statement that failed on the server. A unique violation of a
// checked change is a divergence; anything else is a pg_error carrying its SQLSTATE, naming
// the source transaction and the key (or the group's keys), and, when no partition takes a
// row, what to create to resume.
[[noreturn]] void throw_statement_error(const pending& p, const std::string& sqlstate,
                                        const std::string& error);

}  // namespace partshift::apply
