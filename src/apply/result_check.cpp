// result_check: the meaning of each statement's result (result_check.hpp). Reads results
// handed to it; never sends anything.
#include "partshift/apply/result_check.hpp"

#include <cstdlib>

#include "partshift/apply/divergence_error.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"

namespace partshift::apply {
namespace {

constexpr const char* unique_violation = "23505";
constexpr const char* check_violation = "23514";  // also: no partition takes the row

std::string rows_on_target(int64_t rows) {
    return rows == 0 ? "no such row on the target" : std::to_string(rows) + " rows on the target";
}

bool is(const char* operation, const char* name) {
    return std::string(operation) == name;
}

}  // namespace

int64_t affected_rows(const pg::result& r) {
    if (r.status() == PGRES_TUPLES_OK) return r.rows();
    const char* n = PQcmdTuples(r.native());
    return n && *n ? std::strtoll(n, nullptr, 10) : 0;
}

row_verdict check_rows(const pending& p, int64_t rows, const std::string& job) {
    switch (p.expect) {
        case check::probe:
            return row_verdict::probe;
        case check::located:
            if (rows == 1) return row_verdict::in_partition;
            if (rows == 0) return row_verdict::moved;
            throw_divergence(p, rows_on_target(rows));
        case check::one_row:
            if (rows == 1) return row_verdict::fine;
            if (is(p.operation, "checkpoint"))
                throw runtime_error("job '" + job +
                                    "' vanished from partshift.jobs during apply, or its "
                                    "applied LSN moved past this batch (another run?)");
            throw_divergence(p, rows_on_target(rows));
        default:
            return row_verdict::fine;
    }
}

reported_row first_reported_row(const pg::result& r) {
    reported_row first;
    for (int i = 0; i < r.rows(); ++i) {
        int64_t n = std::strtoll(r.get(i, 0).c_str(), nullptr, 10);
        if (first.row < 0 || n < first.row) {
            first.row = n;
            first.found = std::strtoll(r.get(i, 1).c_str(), nullptr, 10);
        }
    }
    return first;
}

pending group_member(const pending& set, int64_t row) {
    const auto i = static_cast<size_t>(row - 1);
    if (!set.group || row < 1 || i >= set.group->keys.size())
        throw runtime_error("internal error: a set-based " + std::string(set.operation) +
                            " reported row " + std::to_string(row) + " of its group");
    return pending(set.relation, check::one_row, set.operation, set.group->keys[i],
                   set.group->commit_lsns[i]);
}

void throw_set_divergence(const pending& set, reported_row reported) {
    pending row = group_member(set, reported.row);
    if (is(set.operation, "INSERT"))
        throw_divergence(row,
                         "the key already exists on the target (or another unique value of "
                         "the row does)");
    throw_divergence(row, rows_on_target(reported.found));
}

void throw_divergence(const pending& p, const std::string& detail) {
    // The connection is left with an unread pipeline; the applier unwinds and drops it, which
    // rolls the batch back together with its applied LSN.
    std::string key = p.relation ? p.relation->describe(p.key) : "(unknown)";
    throw divergence_error("divergence in strict mode: " + std::string(p.operation) + " of key " +
                           key + " in the source transaction committed at " +
                           stream::format_lsn(p.commit_lsn) + ": " + detail);
}

void throw_statement_error(const pending& p, const std::string& sqlstate,
                           const std::string& error) {
    if ((p.expect == check::insert || p.expect == check::one_row || p.expect == check::located) &&
        sqlstate == unique_violation)
        // PostgreSQL's message names the index and the value that clashed: the row's key, or
        // another unique value of the row (a unique index only the target has).
        throw_divergence(p, "the target refuses the row as a duplicate (" + error + ")");
    std::string message = std::string(p.operation) +
                          " failed in the source transaction committed at " +
                          stream::format_lsn(p.commit_lsn) + ": " + error;
    if (p.relation && !p.key.empty()) message += " (key " + p.relation->describe(p.key) + ")";
    if (p.relation && p.group && !p.group->keys.empty())
        message += " (one of " + std::to_string(p.group->keys.size()) +
                   " rows applied together, keys " +
                   p.relation->describe_key(p.group->keys.front()) + " … " +
                   p.relation->describe(p.group->keys.back()) + ")";
    if (p.relation && sqlstate == check_violation &&
        error.find("no partition of relation") != std::string::npos)
        message += "; create a partition that takes this value (CREATE TABLE ... PARTITION OF " +
                   quote_qualified(p.relation->target) +
                   " FOR VALUES ...) and run again: the job resumes at this transaction";
    throw pg::pg_error(message, sqlstate);
}

}  // namespace partshift::apply
