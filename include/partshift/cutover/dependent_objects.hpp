// dependent_objects: what depends on the swapped table besides views (issue 20 item 2),
// captured before the swap's renames and carried over after them: the table's own rules
// (created on the partitioned table, with their state), rules on other relations that read or
// write the table (CREATE OR REPLACE RULE), policies on other tables whose expressions read it
// (ALTER POLICY ... USING/WITH CHECK) and SQL-body functions and procedures (BEGIN ATOMIC) that
// use it (CREATE OR REPLACE from pg_get_functiondef). Their texts are read under the swap's
// empty search_path, so every name in them is qualified and, run again after the renames,
// binds to the table that now has the name — the same code swaps forward and back (revert).
// Replacing keeps each object's oid, owner, grants and comments. Must not run outside the
// swap's transaction; must not drop anything.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/cutover/swap_catalog.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::cutover {

// own_rule: a rule on the table itself (not a view's _RETURN).
struct own_rule {
    std::string name;
    std::string definition;  // pg_get_ruledef: CREATE RULE name AS ON ... TO schema.table ...
    char enabled = 'O';      // pg_rewrite.ev_enabled
};

// other_policy: a policy on another table whose expressions read the table.
struct other_policy {
    catalog::qualified_name table;
    std::string name;
    std::optional<std::string> using_expr;  // pg_get_expr of polqual
    std::optional<std::string> check_expr;  // pg_get_expr of polwithcheck
};

struct captured_dependents {
    std::vector<own_rule> source_rules;    // the source's own rules
    std::vector<own_rule> target_rules;    // the target's (a revert's target has its own already)
    std::vector<std::string> other_rules;  // CREATE OR REPLACE RULE ..., rules on others
    std::vector<other_policy> policies;
    std::vector<std::string> functions;       // pg_get_functiondef: CREATE OR REPLACE ...
    std::vector<std::string> function_names;  // for the swap's log, same order
};

// capture_dependents reads them for the source (oid) and the target (oid), under the swap's
// search_path = ''.
captured_dependents capture_dependents(pg::connection& conn, uint32_t source_oid,
                                       uint32_t target_oid);

// carry_dependents: after the renames (and the views): the source's rules the target lacks
// (by name) created on `table`, then the other relations' rules, the policies and the
// functions replaced, each a note in the swap's log.
void carry_dependents(swap_runner& run, const captured_dependents& captured,
                      const catalog::qualified_name& table);

// or_replace_rule: "CREATE RULE ..." → "CREATE OR REPLACE RULE ..." (pg_get_ruledef's text).
std::string or_replace_rule(const std::string& ruledef);

// alter_policy_sql: ALTER POLICY name ON table USING (...) WITH CHECK (...), the clauses the
// policy has.
std::string alter_policy_sql(const other_policy& policy);

// rule_state_sql: the ALTER TABLE that gives a rule the state ev_enabled had ('O': none).
std::optional<std::string> rule_state_sql(const std::string& table, const std::string& rule,
                                          char state);

}  // namespace partshift::cutover
