// revert_window_check: whether a revert window can be kept for a plan (issue 20 item 4). The
// reverse stream writes every row of the partitioned table back into the original, whose
// unique indexes and exclusion constraints still hold; one the partitioned table cannot keep
// (it lacks the partition key, so PostgreSQL only enforces it per partition) lets the
// application write a row the original refuses, and the window breaks. Pure: judges the table
// model and the spec; must not touch the server or decide anything about the plan itself.
#pragma once

#include <optional>
#include <string>

#include "partshift/catalog/table_model.hpp"
#include "partshift/plan/partition_spec.hpp"

namespace partshift::plan {

// revert_window_refusal: the one-line reason --revert-window is refused for `table`
// partitioned by `spec` (exit 2), naming the first unique index or exclusion constraint that
// is not kept and the way out; nullopt when every one is kept. The table's own key (primary
// key, or the replica identity index without one) is not judged here: every window has it,
// and a duplicate of it breaks the window at the reverse apply, which says so.
std::optional<std::string> revert_window_refusal(const catalog::table_model& table,
                                                 const partition_spec& spec);

}  // namespace partshift::plan
