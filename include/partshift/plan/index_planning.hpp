// index_planning: the source's primary key, unique constraints and indexes re-aimed at the
// partitioned target. PostgreSQL requires every unique index on a partitioned table to contain
// the partition key columns, so unique ones are extended with them, and each extension is a
// warning (uniqueness is weakened). Pure: renders SQL from the table model; must not decide
// partition bounds or touch the server.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/plan/partition_naming.hpp"
#include "partshift/plan/target_plan.hpp"

namespace partshift::plan {

// index_key_list: the parenthesised key list of a using_clause ("USING btree (a, lower(b))").
struct index_key_list {
    std::size_t open = 0;               // offset of '('
    std::size_t close = 0;              // offset of the matching ')'
    std::vector<std::string> elements;  // "a", "lower((b)::text)", "c DESC", as printed
};

// parse_index_key_list finds the key list after "USING method"; nullopt when it cannot (then the
// index cannot be extended safely). Understands nested parentheses and quoted text.
std::optional<index_key_list> parse_index_key_list(const std::string& using_clause);

// planned_indexes: what plan_indexes returns.
struct planned_indexes {
    std::vector<planned_index> indexes;  // primary key first
    std::vector<std::string> warnings;
    std::vector<std::string> notes;
};

// plan_indexes re-creates every source index on target. partition_keys are the key columns of
// all levels (unquoted); names come from `names` (source index name + "_new", fitted, unique).
// Exclusion constraints are skipped with a warning (PostgreSQL 15 cannot enforce them on a
// partitioned table).
planned_indexes plan_indexes(const catalog::table_model& table,
                             const catalog::qualified_name& target,
                             const std::vector<std::string>& partition_keys, name_allocator& names);

}  // namespace partshift::plan
