// ledger_load: the write load of the cutover and revert tests. pgbench clients write events
// and record every committed write in a ledger table in the same statement, so afterwards each
// write can be checked in whatever table then carries the name `events`.
#pragma once

#include <memory>
#include <string>

#include "support/sandbox.hpp"

namespace partshift::testing {

// create_ledger: the ledger, and the starting amounts of events (call after loading events).
void create_ledger(const test_database& db);

// start_ledger_load: pgbench (`mode`: simple or prepared) at a steady rate an applier keeps up
// with (`rate` transactions/s; 0: as fast as the clients can, unthrottled), for `seconds`,
// logging to log_path.
std::unique_ptr<child_process> start_ledger_load(const test_database& db, const std::string& mode,
                                                 int seconds, const std::string& log_path,
                                                 int rate = 150);

// expect_ledger_holds: every committed write of the load is in `table` exactly once: amounts
// equal the starting amount plus the updates counted in the ledger, inserted rows are there,
// deleted rows are gone, no key twice.
void expect_ledger_holds(const test_database& db, const std::string& table = "events");

// expect_pgbench_clean: the load ended by itself, with 0 failed transactions.
void expect_pgbench_clean(child_process& load);

}  // namespace partshift::testing
