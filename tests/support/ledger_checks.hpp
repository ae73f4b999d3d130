// ledger_checks: the check behind the cutover tests' pgbench load
// (tests/workload/ledger_writes.pgbench): every write to `events` records itself in `ledger`
// in the same transaction, and `initial` holds the amounts before the load.
#pragma once

#include "support/sandbox.hpp"

namespace partshift::testing {

// expect_ledger_holds: every committed write of the load is in `events` exactly once: amounts
// equal the starting amount plus the updates counted in the ledger, inserted rows are there,
// deleted rows are gone, no key twice. Failures are reported with EXPECT_*.
void expect_ledger_holds(const test_database& db);

}  // namespace partshift::testing
