// table_swap: the rename and the dependent-object moves of the cutover, inside the caller's
// transaction that holds ACCESS EXCLUSIVE on the source (DESIGN.md §1 step 7).
// Placeholder until the full version lands: renames only.
#pragma once

#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::cutover {

struct swap_request {
    catalog::qualified_name source;   // the original table (unquoted names)
    std::string target_table;         // the partitioned table in the same schema
    std::string old_name;             // the name the original table gets
    std::string publication_to_skip;  // partshift's own publication (never moved)
    bool drop_unrepointable_fks = false;
};

struct swap_outcome {
    std::vector<std::string> steps;             // one short human line per step, for the log
    std::vector<std::string> after_commit_sql;  // e.g. ALTER TABLE ... VALIDATE CONSTRAINT ...
};

swap_outcome swap_tables(pg::connection& conn, const swap_request& request);
void finish_after_commit(pg::connection& conn, const swap_outcome& outcome);

}  // namespace partshift::cutover
