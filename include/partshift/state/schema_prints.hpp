// schema_prints: the source's schema fingerprint as the job recorded it when it was prepared
// (partshift.schema_prints, catalog/schema_print.hpp), and the check that stops the job when
// the source now differs in a way the swap would not carry over (issue 20 item 1). The follow
// watch runs it every few seconds, the cutover under its lock.
// Must not read anything but the catalog and partshift's own tables; must not write the source.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "partshift/catalog/schema_print.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::state {

// record_schema_print replaces the job's recorded print with the table's print now.
void record_schema_print(pg::connection& conn, const std::string& job, uint32_t table_oid,
                         const std::string& skip_publication);

// schema_print_recorded: whether a run recorded the job's print (jobs.schema_printed_at).
bool schema_print_recorded(pg::connection& conn, const std::string& job);

// load_schema_print_sql: the recorded items of job $1 (columns kind, name, text).
extern const char* const load_schema_print_sql;

// mark_schema_changed_sql: records message $2 for job $1 (kind '!'), once: a change of the
// columns stops every later run too.
extern const char* const mark_schema_changed_sql;

// schema_stop: the message that stops the job, or nullopt: a recorded '!' item, else
// catalog::stop_message of the recorded print against `now`; `restart` tells a change of
// the columns (to be marked) from the rest.
struct schema_stop {
    std::string message;
    bool restart = false;
    std::vector<std::string> carried;  // differences the swap carries over, for the log
};
schema_stop judge_schema_print(const std::vector<catalog::print_item>& recorded,
                               const std::vector<catalog::print_item>& now,
                               const std::string& table, const std::string& job);

// check_schema_print: throws partshift::runtime_error (exit 1) with the message when the
// table's print now stops the job (a change of its columns is marked first); logs what the
// swap will carry. Nothing recorded: nothing to check. Under the cutover's SHARE UPDATE
// EXCLUSIVE lock the answer holds, but for grants, comments and dependents (carried), until
// the lock is released.
void check_schema_print(pg::connection& conn, const std::string& job, uint32_t table_oid,
                        const std::string& table, const std::string& skip_publication);

}  // namespace partshift::state
