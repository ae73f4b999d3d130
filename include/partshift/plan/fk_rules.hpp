// fk_rules: which foreign keys that reference the source can follow it to the partitioned
// table. A foreign key needs a unique key on exactly its referenced columns; the partitioned
// table's unique keys gained the partition key, so some inbound keys cannot be re-pointed.
// Preflight and the plan judge them against the keys the plan will create, the swap against
// the keys the target has. Pure functions of the table model and the plan: no connection, no
// SQL, and nothing about how the swap re-points a key (that is cutover/swap_sql).
#pragma once

#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/plan/target_plan.hpp"

namespace partshift::plan {

// key_columns: the plain columns of one unique key, in any order.
using key_columns = std::vector<std::string>;

// unique_keys: the keys a foreign key can reference on this table — unique or primary,
// non-partial, without expressions. From the inspected partitioned target at swap time.
std::vector<key_columns> unique_keys(const catalog::table_model& table);

// planned_unique_keys: the same for the target the plan will create (the source's unique keys,
// extended with the partition key where the plan extends them, exclusion constraints left out).
std::vector<key_columns> planned_unique_keys(const catalog::table_model& source,
                                             const target_plan& plan);

// inbound_fk_problems: the source's inbound foreign keys that cannot be re-pointed to the
// target because their referenced columns are not exactly one of target_keys. Self-referencing
// keys are left out: they stay on the old table (the plan warns about them). Used by preflight
// (with planned_unique_keys) to refuse unless the user accepts dropping them, and by the swap.
std::vector<catalog::foreign_key> inbound_fk_problems(const catalog::table_model& source,
                                                      const std::vector<key_columns>& target_keys);

// fk_definition_without_not_valid: pg_get_constraintdef() text with a trailing " NOT VALID"
// removed; *was_not_valid says whether it had one.
std::string fk_definition_without_not_valid(const std::string& definition, bool* was_not_valid);

}  // namespace partshift::plan
