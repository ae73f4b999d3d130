// group_plan: the plans of a multi-table job (run --spec) adjusted for the foreign keys
// between its tables. A foreign key from table A to table B of the same job is created between
// their partitioned targets (A_new → B_new) before the copy, while both are empty, instead of
// A_new → B: at the cutover both tables switch in one transaction, and the old pair keeps its
// own key (A_old → B_old). The copy and the applier write with session_replication_role =
// replica, which skips the key's checks; the targets reach the source's state at the cutover's
// fence, where the source's own key held. B_new must have the referenced key before the key
// can be created: its primary key (source key + partition keys) is built first.
// Pure: no connection; unit-tested.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/plan/preflight_check.hpp"
#include "partshift/plan/size_estimate.hpp"
#include "partshift/plan/target_plan.hpp"

namespace partshift::plan {

struct group_member {
    catalog::table_model table;
    target_plan plan;
    std::vector<preflight_check> checks;
    std::optional<size_estimate> estimate{};  // disk and WAL, as `plan` shows for one table
};

// group_fk: one foreign key between two tables of the job, recreated between their targets.
struct group_fk {
    size_t referencing = 0;  // index into the members
    size_t referenced = 0;
    std::string name;
    std::string sql;  // ALTER TABLE <A_new> ADD CONSTRAINT ... REFERENCES <B_new> (...) ...
};

struct group_plan {
    std::vector<group_fk> fks;
    // Per member: its target's primary key is built before the copy (another table's key
    // references it). Loading into an indexed table is slower; the price of keeping the key.
    std::vector<bool> primary_key_first;
};

// plan_group adjusts `members` in place:
// - the statement creating A_new → B (the plan's outbound key) leaves A's constraint_sql and
//   becomes a group_fk A_new → B_new;
// - B's inbound_foreign_keys check no longer counts keys from tables of the job (they stay on
//   the old tables, unchanged);
// - a key between two tables of the job that cannot be kept (it does not reference B's
//   primary key on the partitioned table, which includes the partition keys, or it is NOT
//   VALID) fails the check group_foreign_keys, unless drop_unrepointable_fks: then it is left
//   off the targets with a warning.
// Also fails group_tables when two members are the same table or one's target is another's.
group_plan plan_group(std::vector<group_member>& members, bool drop_unrepointable_fks);

// referencing_target_definition: a pg_get_constraintdef() text of a foreign key with the
// referenced table replaced by `referenced` (already quoted): "FOREIGN KEY (a) REFERENCES
// s.t(b) ON DELETE CASCADE" → "FOREIGN KEY (a) REFERENCES <referenced>(b) ON DELETE
// CASCADE". Quoted identifiers may hold parentheses and spaces. Throws runtime_error on a
// text of another shape.
std::string referencing_target_definition(const std::string& definition,
                                          const std::string& referenced);

// planned_primary_key: the target's primary key columns: the source's primary key columns,
// then the partition keys not among them (the same rule as the index build); empty when
// the source has no primary key.
std::vector<std::string> planned_primary_key(const catalog::table_model& table,
                                             const partition_spec& spec);

}  // namespace partshift::plan
