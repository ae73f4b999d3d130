// job_driver: what the engine, cutover and verify tests do to a job through the real binary:
// load the sample events table, read `partshift status --json`, wait for a status condition.
// Failures are reported with ADD_FAILURE (and the run's log), so callers stay short.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "status.pb.h"
#include "support/sandbox.hpp"

namespace partshift::testing {

// load_events_table creates tests/workload's events table with `rows` rows; false on failure.
bool load_events_table(const test_database& db, int rows);
// The same in the database `dsn` names (an extra_server's).
bool load_events_table(const std::string& dsn, int rows);

// relkind: pg_class.relkind of the relation named `name` (SQL text, e.g. "public.events"),
// or "-" when there is none.
std::string relkind(const test_database& db, const std::string& name);

// job_status: `partshift status --json` of the job, parsed; nullopt when it fails.
std::optional<proto::status_report> job_status(const std::string& dsn, const std::string& job);

// find_setting: the setting of that name in the report's settings (`status`'s "setting" lines),
// or nullptr.
const proto::job_setting* find_setting(const proto::status_report& s, const std::string& name);

// wait_for_status polls job_status (every 100 ms) until pred holds and returns that status.
// On a timeout, or when `run` exits first, it adds a failure with `what` and the run's log and
// returns an empty report.
proto::status_report wait_for_status(const std::string& dsn, const std::string& job,
                                     const std::function<bool(const proto::status_report&)>& pred,
                                     std::chrono::seconds timeout, child_process* run,
                                     const std::string& what);

// wait_caught_up: the job's lag 0 in follow twice, 1.5 s apart (the applier idle and
// current, not just between two batches); returns the last status.
proto::status_report wait_caught_up(const std::string& dsn, const std::string& job,
                                    child_process* run);

// stop_run: SIGTERM to a run, which must end with exit 0 within two minutes.
void stop_run(child_process& run);

// start_with_env: `argv` started through env(1) with the VAR=value settings in `env` (the
// engine's fault-injection hooks), logging to log_path.
std::unique_ptr<child_process> start_with_env(const std::vector<std::string>& env,
                                              const std::vector<std::string>& argv,
                                              const std::string& log_path);

}  // namespace partshift::testing
