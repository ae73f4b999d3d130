// session_setup: opening the applier's sessions on the target database and what each run
// reads once at its start: the apply session's settings (replica role, text formats, generic
// plans, key-probe joins, synchronous_commit), the job's saved position, each relation's
// skipped keys and DEFERRABLE constraints, the statement names prepared on a session, and the
// plain lookup session on the source, and the apply session's replication origin.
// Must not: apply changes, hold batch state, or run a statement inside the pipeline
// (apply_session does that once the session is set up).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "partshift/apply/applier_options.hpp"
#include "partshift/apply/relation_state.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

namespace asio = boost::asio;

// open_apply_session: connects to options.dsn and sets the session up for apply lane `lane`:
// replica role (no triggers or FK checks fire), the walsender's text formats, always the
// generic plan, synchronous_commit as options.asynchronous_commit says, the lane's replication
// origin (when options.origin_slot is given), and, when set statements may run
// (`set_statements`), hash and merge joins off. Throws runtime_error naming the fix when the
// role may not set session_replication_role.
asio::awaitable<pg::async_connection> open_apply_session(const applier_options& options,
                                                         bool set_statements, size_t lane = 0);

// open_lookup_session: the plain session on the source for idempotent key-change lookups,
// printing values exactly as the apply session parses them.
asio::awaitable<pg::async_connection> open_lookup_session(const applier_options& options);

// job_position: what partshift.jobs says of a job at the start of a run.
struct job_position {
    std::optional<stream::lsn_t> applied;     // last applied source commit end, if any
    std::optional<stream::lsn_t> chunk_high;  // end of the idempotent window, if known
    int apply_workers = 1;                    // the lanes the job runs with
    uint64_t wal_insert = 0;                  // the target's WAL positions read with them
    uint64_t wal_flush = 0;
};
// read_job_position: throws runtime_error when the job is not in partshift.jobs.
asio::awaitable<job_position> read_job_position(pg::async_connection& conn, const std::string& job);

// load_relation_facts: the relation's skipped keys (partshift.skipped_keys) and whether a
// DEFERRABLE unique or exclusion constraint on its source or target keeps its inserts and
// updates row by row (a set INSERT's ON CONFLICT DO NOTHING is refused next to one).
asio::awaitable<void> load_relation_facts(pg::async_connection& conn, relation_state& rel);

// prepared_statements: the names of the statements prepared on one session, by SQL text.
class prepared_statements {
  public:
    // name_for: the name of `sql` on this session, and true when it is new here (the caller
    // prepares it before its first use).
    std::pair<const std::string&, bool> name_for(const std::string& sql);

  private:
    std::unordered_map<std::string, std::string> names_;  // SQL → statement name
};

}  // namespace partshift::apply
