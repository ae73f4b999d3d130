// old_name_check: the name each original table gets at the swap (NAME_old or --old-name, per
// table of a multi-table job) must be free in its schema, checked when a job is prepared and
// again on every resumed run (exit 3, with the fix), not first found at the swap after the
// whole copy. A resumed job takes a changed --old-name (the job file's, per table): the name
// is only used at the swap, so changing it before then is safe.
// Must not: rename or drop anything; change a row's other names (the target is refused, not
// renamed: job_records::check_same_target_name).
#pragma once

#include <vector>

#include "partshift/migrate/migrator.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/state/job_store.hpp"

namespace partshift::migrate {

// check_old_names_free throws preflight_error for the first row whose old name is taken in
// its source schema, usage_error for one that is the table's or its target's own name.
void check_old_names_free(pg::connection& conn, const std::vector<state::job_record>& rows);

// adopt_old_names: a resumed job's rows (`job` first, then a multi-table job's others) take
// the old names this run gives (empty: keep the row's); every row's old name is then checked
// free. `job` is updated with its own.
void adopt_old_names(pg::connection& conn, const run_options& options, const job_inputs& inputs,
                     state::job_record& job);

}  // namespace partshift::migrate
