// table_model: everything partshift needs to know about a source table, read from the catalog
// by catalog::inspector and consumed by the planner, copier, applier and cutover.
// Plain data, no I/O. SQL fragments (types, defaults, expressions, index definitions) are kept
// exactly as the server rendered them (format_type, pg_get_expr, pg_get_indexdef, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partshift::catalog {

// qualified_name: a schema and a relation name, both unquoted (as stored in the catalog).
struct qualified_name {
    std::string schema;
    std::string name;
    bool operator==(const qualified_name&) const = default;
};

struct column {
    std::string name;
    int attnum = 0;  // pg_attribute.attnum
    uint32_t type_oid = 0;
    std::string type_name;      // format_type(atttypid, atttypmod), e.g. "character(1)"
    std::string type_category;  // pg_type.typcategory: N numeric, D datetime, S string, ...
    std::optional<std::string> collation;     // quoted collation name when not the type's default
    std::optional<std::string> default_expr;  // pg_get_expr(adbin), absent for generated columns
    bool not_null = false;
    char identity = '\0';                          // 'a' ALWAYS, 'd' BY DEFAULT, '\0' none
    std::optional<std::string> identity_sequence;  // qualified, quoted sequence name
    std::optional<std::string> generated_expr;     // STORED generated expression
    std::optional<std::string> comment;
    char storage = '\0';            // attstorage when it differs from the type default
    std::optional<int> statistics;  // attstattarget when set
};

struct check_constraint {
    std::string name;
    std::string definition;  // pg_get_constraintdef, e.g. "CHECK ((amount > 0))"
    bool no_inherit = false;
};

struct index {
    std::string name;
    std::string definition;  // pg_get_indexdef, "CREATE [UNIQUE] INDEX name ON ... USING ..."
    // using_clause: the definition from "USING " on ("USING btree (lower(email)) WHERE ..."),
    // cut off after the exact prefix the server printed, so it can be re-aimed at another table.
    std::string using_clause;
    std::string method;  // btree, gin, gist, brin, hash, ...
    bool is_primary = false;
    bool is_unique = false;
    bool is_constraint = false;  // backs a PRIMARY KEY / UNIQUE / EXCLUDE constraint
    std::optional<std::string> constraint_name;
    bool is_replica_identity = false;
    bool is_partial = false;
    bool has_expressions = false;
    bool nulls_not_distinct = false;
    std::vector<std::string> key_columns;  // plain key columns, in order (empty for expressions)
    std::vector<std::string> include_columns;  // INCLUDE (...)
    std::optional<std::string> tablespace;
    std::optional<std::string> comment;
};

struct foreign_key {
    std::string name;
    qualified_name table;       // the referencing table
    qualified_name referenced;  // the referenced table
    std::string definition;     // pg_get_constraintdef
    std::vector<std::string> columns;
    std::vector<std::string> referenced_columns;
};

struct trigger {
    std::string name;
    std::string definition;  // pg_get_triggerdef
    bool enabled = true;
    bool is_internal = false;
    // enabled_state: pg_trigger.tgenabled, O origin, D disabled, R replica, A always; cutover
    // needs it to recreate ENABLE REPLICA / ENABLE ALWAYS triggers faithfully.
    char enabled_state = 'O';
};

struct dependent_view {
    qualified_name name;
    bool materialized = false;
    std::string definition;  // pg_get_viewdef
    int depth = 1;           // 1 reads the table directly, 2 reads a depth-1 view, ...
};

struct owned_sequence {
    qualified_name name;
    std::string column;
    bool identity = false;
};

struct grant {
    std::string grantee;    // role name or "PUBLIC"
    std::string privilege;  // SELECT, INSERT, ...
    bool grantable = false;
    std::optional<std::string> column;  // column-level privilege (pg_attribute.attacl)
};

struct policy {
    std::string name;
    std::string command;  // ALL, SELECT, ...
    bool permissive = true;
    std::vector<std::string> roles;
    std::optional<std::string> using_expr;
    std::optional<std::string> check_expr;
};

// partition_member: one relation below a partitioned source (sub-parents and leaves), as
// read by catalog/partition_tree. A re-partitioning job records them at prepare and stops
// when they change (ATTACH/DETACH), and preflight checks each leaf's replica identity.
struct partition_member {
    uint32_t oid = 0;
    qualified_name name;
    uint32_t parent_oid = 0;
    std::string bound;  // pg_get_expr(relpartbound): FOR VALUES ... / DEFAULT
    // bound_id: md5 of the stored bound; unlike `bound` its text does not depend on the
    // session's TimeZone, so it is what a job records and compares.
    std::string bound_id;
    char relkind = 'r';                         // p for a sub-parent
    bool detach_pending = false;                // DETACH ... CONCURRENTLY not finished
    char replica_identity = 'd';                // the leaf's own: PostgreSQL 15 does not inherit it
    std::vector<std::string> identity_columns;  // of its replica identity index (PK for 'd')
};

// table_model: one source table.
struct table_model {
    uint32_t oid = 0;
    qualified_name name;
    std::string owner;
    char relkind = 'r';           // r table, p partitioned, f foreign, ...
    char persistence = 'p';       // p permanent, u unlogged, t temporary
    char replica_identity = 'd';  // d default, n nothing, f full, i index
    std::optional<std::string> comment;
    std::vector<std::string> storage_options;  // reloptions, "fillfactor=70"
    std::optional<std::string> tablespace;
    std::optional<std::string> access_method;  // when not heap

    std::vector<column> columns;  // in attnum order, dropped columns left out
    std::vector<check_constraint> checks;
    std::vector<index> indexes;  // every index, the primary key's included
    std::vector<foreign_key> outbound_fks;
    std::vector<foreign_key> inbound_fks;
    std::vector<trigger> triggers;                // user triggers only
    std::vector<dependent_view> dependent_views;  // by depth: create in this order
    std::vector<owned_sequence> sequences;
    std::vector<grant> grants;
    std::vector<policy> policies;
    bool rls_enabled = false;
    bool rls_forced = false;
    // partitions: every relation below a partitioned source (relkind 'p'), by level then name;
    // empty for a plain table.
    std::vector<partition_member> partitions;

    int64_t row_estimate = 0;  // pg_class.reltuples (or an exact count for tiny tables)
    int64_t total_bytes = 0;   // pg_total_relation_size

    const column* find_column(const std::string& column_name) const {
        for (const auto& c : columns)
            if (c.name == column_name) return &c;
        return nullptr;
    }
    const index* primary_key() const {
        for (const auto& i : indexes)
            if (i.is_primary) return &i;
        return nullptr;
    }
    // apply_key: the source's row identity, primary key or replica identity index (DESIGN.md
    // step 5: every lookup on the target is by this key).
    const index* apply_key() const {
        if (const index* pk = primary_key()) return pk;
        for (const auto& i : indexes)
            if (i.is_replica_identity) return &i;
        return nullptr;
    }
};

}  // namespace partshift::catalog
