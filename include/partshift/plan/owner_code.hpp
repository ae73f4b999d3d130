// owner_code: the table owner's code that partshift's work would run with partshift's rights
// (issue 18, item 3; DESIGN.md invariant 8). The copy, the applier, index builds and the swap
// evaluate the table's CHECK constraints, defaults, generated columns, index expressions and
// predicates, domain constraints of its column types, operator classes, replica-firing
// triggers and rules, and policies — as the role running partshift. A function in there that
// its owner can rewrite at will, and that its owner could not run with those rights anyway,
// hands the operator's rights to that owner. There is no SQL-level sandbox (code run under
// SET ROLE can RESET ROLE), so partshift refuses instead, unless the user accepts it.
// read_owner_code only reads the catalog; evaluate_owner_code is pure. Must not change anything.
#pragma once

#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/plan/preflight_check.hpp"

namespace partshift::plan {

// untrusted_function: a function the work would evaluate whose owner is neither a superuser
// nor the running role.
struct untrusted_function {
    std::string signature;  // quoted, schema-qualified: public.check_amount(integer)
    std::string owner;
    std::string used_by;  // "CHECK constraint x, index y expression, column c (type d)"
};

struct owner_code_facts {
    std::string running_role;
    std::string table_owner;
    bool owner_is_superuser = false;
    bool running_as_owner = false;
    // Read only when it matters (not as the owner, owner not a superuser).
    std::vector<untrusted_function> functions;
};

// read_owner_code reads the table's owner and, when the running role is not that owner and the
// owner is no superuser, every untrusted function reached from the table (and, for a
// partitioned table, from every relation below it) through pg_depend and the few links
// pg_depend does not record (domain constraints, composite types' columns, operator families'
// members). Reads only; best inside the caller's snapshot.
owner_code_facts read_owner_code(pg::connection& conn, const catalog::table_model& table);

// evaluate_owner_code: the check "owner_code". Fails (fatal) when untrusted functions would run,
// naming the owner, each function with what uses it, and the fixes; a warning instead when the
// user accepted it (trust_table_owner).
preflight_check evaluate_owner_code(const owner_code_facts& facts,
                                    const catalog::qualified_name& table, bool trust_table_owner);

}  // namespace partshift::plan
