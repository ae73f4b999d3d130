// dependents: the objects that depend on the table (pg_depend, issue 20 item 2) and whether the
// swap carries each of them over to the partitioned table: views and materialized views,
// rules on other relations, SQL-body functions and procedures (BEGIN ATOMIC) and policies on
// other tables are recreated with the new binding inside the swap, when partshift may replace
// them (it owns them, or their table); foreign keys have a check of their own. What the swap
// cannot carry stays bound to NAME_old: inheritance children, columns, functions and types
// using the table's row type, anything else. Also the triggers on other tables whose function
// bodies name the table in text, which pg_depend does not record (a warning).
// read_* only read the catalog; evaluate_* are pure. Must not change anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/plan/preflight_check.hpp"

namespace partshift::plan {

// dependent_object: one object depending on the table or its row type.
struct dependent_object {
    std::string description;  // pg_describe_object: "function public.add_event(integer)"
    std::string category;     // view, rule, sql function, policy, foreign key, row type, ...
    bool carried = false;     // the swap recreates it bound to the partitioned table
    std::string why_not;      // when not carried: why
};

struct dependent_facts {
    std::vector<dependent_object> objects;
    // Triggers on other tables whose function's body names the table: "trigger t on
    // public.x runs public.f()".
    std::vector<std::string> naming_triggers;
};

// read_dependents: the direct dependents of the table and of its row type, less the
// table's own parts, and the triggers whose function bodies name it.
dependent_facts read_dependents(pg::connection& conn, const catalog::table_model& table);

// evaluate_dependents: the check "dependents": passes when the swap carries every dependent;
// fails (fatal) naming those it cannot carry and the flag that accepts them
// (--allow-uncarried-dependents); a warning instead when the user accepted them.
preflight_check evaluate_dependents(const dependent_facts& facts,
                                    const catalog::qualified_name& table, bool accepted);

// evaluate_naming_triggers: the check "trigger_functions": a warning naming each trigger
// whose function names the table in its body, else a pass.
preflight_check evaluate_naming_triggers(const dependent_facts& facts,
                                         const catalog::qualified_name& table);

}  // namespace partshift::plan
