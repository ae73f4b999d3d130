// origin_filter: PostgreSQL 16+'s replication origins, used so the job's slot skips the rows
// partshift writes itself (copy workers, the applier) before the walsender decodes them: each
// writing session sets an origin of its own, and the stream is read with pgoutput's
// `origin 'none'`. That option drops EVERY change that carries an origin, a logical
// replication subscriber's too, so the filter is only chosen while the cluster has no origin
// but partshift's, and a foreign origin appearing later stops the job (and the cutover).
// Here: the choice, the names, the check, setting a session's origin and dropping the job's.
// Must not: decide when to check (the migrate/ roles and the cutover do), or read the stream.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::stream {

// origin_filter_on: the value partshift.jobs.origin_filter holds for a job whose stream
// filters by origin; anything else ("off: <why>", or NULL for a job of an earlier
// partshift) means unfiltered.
inline constexpr const char* origin_filter_on = "on";
bool origin_filter_enabled(const std::optional<std::string>& recorded);

// origin_filter_choice: whether a new job's stream filters by origin, and why not.
struct origin_filter_choice {
    bool on = false;
    std::string why_not;  // one clause, e.g. "the server is PostgreSQL 15 (16+ needed)"
};

// choose_origin_filter: on only on PostgreSQL 16+, when pg_replication_origin holds no origin
// but partshift's, and when the role may create, set up and drop origins. `disabled`:
// --no-origin-filter.
origin_filter_choice choose_origin_filter(pg::connection& conn, bool disabled);

// origin_filter_record: the text partshift.jobs.origin_filter keeps for `choice`.
std::string origin_filter_record(const origin_filter_choice& choice);

// origin_name: the origin of one of the job's writing sessions, "<slot>_<role><n>" within
// NAMEDATALEN (role 'a': the apply session, 'c': copy worker n). An origin is active in one
// session at a time, so every session that writes at once has its own.
std::string origin_name(std::string_view slot_name, char role, int n);

// foreign_origins_sql: the origins that are not partshift's (names starting "partshift_"),
// one row each, sorted. Every partshift job's origins count as partshift's: another job's
// sessions write only that job's own tables.
extern const char* const foreign_origins_sql;
std::vector<std::string> foreign_origins(pg::connection& conn);
boost::asio::awaitable<std::vector<std::string>> foreign_origins(pg::async_connection& conn);

// foreign_origin_message: the line a job stops with when `origins` appeared while filtering.
std::string foreign_origin_message(const std::vector<std::string>& origins, const std::string& job);

// use_origin: creates `name` if missing and sets it up on `conn`, so what the session writes
// from then on carries it. A killed run's backend may still hold it for a moment: retried
// for a few seconds. Returns false (with a warning) when it cannot be set up (no free origin
// state: max_replication_slots / max_active_replication_origins): the session then writes
// unfiltered, which costs the walsender work and nothing else.
boost::asio::awaitable<bool> use_origin(pg::async_connection& conn, std::string name);

// drop_job_origins: drops every origin named after `slot_name` (when the slot goes: done,
// abort). One still held by a session that is going away is retried briefly, then left with
// a warning (a later abort or the next job of that name reuses it).
void drop_job_origins(pg::connection& conn, const std::string& slot_name);

// drop_orphaned_origins: drops every partshift origin ("partshift_...") that belongs to no
// replication slot left in the cluster: a job whose slot went without its origins (its
// database dropped, the slot dropped by hand, a run killed while dropping them). Each one
// holds a replication state slot that PostgreSQL caps (max_replication_slots, or 18's
// max_active_replication_origins), so leftovers would one day turn the filter off. Origins
// are created only after their job's slot exists, so one without a slot is nobody's. One in
// use is left. Returns the names dropped.
std::vector<std::string> drop_orphaned_origins(pg::connection& conn);

}  // namespace partshift::stream
