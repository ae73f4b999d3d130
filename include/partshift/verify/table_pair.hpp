// table_pair: which two tables verify compares for a job, found in the catalog rather than
// trusted from the job's phase, so a half-finished cutover or a dropped table is told apart.
// Before cutover: the source (plain) with the target (partitioned). After cutover: the kept
// original under its old name (plain) with the table's final name (now partitioned).
// Reads the catalog only; must not change anything.
#pragma once

#include <string>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::verify {

struct table_pair {
    catalog::qualified_name left;   // the plain table (relkind r)
    catalog::qualified_name right;  // the partitioned table (relkind p)
    bool swapped = false;           // true once the cutover committed
};

// find_table_pair throws runtime_error (exit 1) naming each table that is missing or of the
// wrong kind when neither arrangement is found in the catalog.
table_pair find_table_pair(pg::connection& conn, const state::job_record& job);

}  // namespace partshift::verify
