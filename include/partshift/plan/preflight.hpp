// preflight: is the server, the user and the table ready for a migration (DESIGN.md §1 step 1)?
// Split like the rest of plan/: read_server_facts() does the (read-only) queries,
// evaluate_preflight() is a pure function of what was read, so every verdict and message is
// unit-testable without a server. Must not change anything in the database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/plan/dependents.hpp"
#include "partshift/plan/owner_code.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/preflight_check.hpp"
#include "partshift/plan/target_plan.hpp"

namespace partshift::plan {

// key_nulls: NULLs found in a nullable partition key column (counted up to a limit).
struct key_nulls {
    std::string column;
    int64_t count = 0;  // 0: nullable but no NULLs today
};

// server_facts: everything preflight looks at, read in one read-only pass.
struct server_facts {
    int server_version = 0;  // PQserverVersion, 150004
    std::string wal_level;
    int max_replication_slots = 0;
    int used_replication_slots = 0;
    int max_wal_senders = 0;
    int used_wal_senders = 0;
    std::string user;
    std::string database;  // current_database(), named in the fixes
    bool superuser = false;
    bool replication = false;               // rolreplication
    bool can_create_in_database = false;    // CREATE PUBLICATION, the partshift state schema
    bool can_create_in_schema = false;      // the target and its partitions
    bool owns_table = false;                // rename at cutover, publication membership
    bool can_set_replication_role = false;  // session_replication_role on the target
    bool can_read_table = false;            // SELECT on the source: the plan and the copy read it
    std::vector<key_nulls> nullable_keys;   // one per nullable partition key column
    std::optional<int64_t> level1_outside;  // rows outside an explicit list, no default
    std::optional<int64_t> level2_outside;
    std::vector<std::string> taken_names;  // planned names that already exist in the schema
    // The partitioned tables (quoted, qualified) whose partitions or indexes hold taken names:
    // e.g. the table a revert kept, whose partitions are named as the new ones would be.
    std::vector<std::string> taken_by;
    owner_code_facts owner_code;  // the table owner's code partshift would run
    dependent_facts dependents;   // what depends on the table, carried or not
};

// preflight_options: what the user accepted on the command line.
struct preflight_options {
    // Inbound foreign keys that cannot be re-pointed to the partitioned table are dropped at
    // cutover (--drop-unrepointable-fks).
    bool drop_unrepointable_fks = false;
    // The table owner's functions may run with partshift's rights (--trust-table-owner).
    bool trust_table_owner = false;
    // Dependents the swap cannot carry stay bound to NAME_old (--allow-uncarried-dependents).
    bool allow_uncarried_dependents = false;
};

// null_count_limit: NULL counting stops here; "at least this many" is enough to act on.
inline constexpr int64_t null_count_limit = 1000;

// read_role_facts: the server's settings and the role's rights only (no read of the table's
// rows): what can be judged when the role may not even read the table.
server_facts read_role_facts(pg::connection& conn, const catalog::table_model& table);

// evaluate_role_checks: the checks of the server and the role (read_role_facts), in the order
// evaluate_preflight begins with.
std::vector<preflight_check> evaluate_role_checks(const server_facts& facts,
                                                  const catalog::table_model& table);

// require_readable_table: before anything reads the table's rows (the plan's data facts), a
// role that may not read it gets every failure of the server and role checks at once
// (preflight_error, exit 3), not the server's raw "permission denied for table".
void require_readable_table(pg::connection& conn, const catalog::table_model& table);

// read_server_facts runs the read-only queries. Counting NULLs and rows outside an explicit
// list scans the table; everything else reads the catalog and settings.
server_facts read_server_facts(pg::connection& conn, const catalog::table_model& table,
                               const partition_spec& spec, const target_plan& plan);

// evaluate_preflight turns the facts into checks, in a fixed order, each with a one-line
// message that says how to fix a failure. Inbound foreign keys that cannot be re-pointed to the
// partitioned table, and the table owner's untrusted code, fail their checks unless the user
// accepted them (options).
std::vector<preflight_check> evaluate_preflight(const server_facts& facts,
                                                const catalog::table_model& table,
                                                const partition_spec& spec, const target_plan& plan,
                                                const preflight_options& options = {});

// run_preflight: read_server_facts + evaluate_preflight.
std::vector<preflight_check> run_preflight(pg::connection& conn, const catalog::table_model& table,
                                           const partition_spec& spec, const target_plan& plan,
                                           const preflight_options& options = {});

// first_fatal_failure returns the first failed fatal check, or nullptr when the plan may run.
// resumed: only the checks that also stop a resumed job (preflight_check::on_resume); the
// others judge a job's start (on a resumed job the target exists, for one).
const preflight_check* first_fatal_failure(const std::vector<preflight_check>& checks,
                                           bool resumed = false);

// fatal_failure_lines: one "preflight failed: ..." line per failed fatal check, in order
// (prefix: e.g. a multi-table job's "public.orders: "), so a run shows every problem at once.
std::vector<std::string> fatal_failure_lines(const std::vector<preflight_check>& checks,
                                             bool resumed = false, const std::string& prefix = "");

}  // namespace partshift::plan
