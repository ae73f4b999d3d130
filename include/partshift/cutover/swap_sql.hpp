// swap_sql: the statements of the cutover's table swap (cutover/table_swap), rendered from plain
// data: renames, ownership, grants, comments, policies, trigger states, replica identity, view
// definitions, publication membership, sequence settings and foreign keys. Pure string
// functions, unit-tested without a server: they must not execute anything, read the catalog or
// decide what to carry over (table_swap decides; this file only spells it). Every identifier
// goes through plan::quote_ident; DDL cannot take parameters, so the few values (comments,
// sequence numbers, reloptions) are rendered as quoted literals or re-printed integers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"

namespace partshift::cutover {

// relation_sql: "schema.name", both parts quoted as needed.
std::string relation_sql(const catalog::qualified_name& name);

// rename_sql: ALTER <kind> schema.from RENAME TO to. kind is TABLE, INDEX or SEQUENCE. Renaming
// an index that backs a PRIMARY KEY / UNIQUE constraint renames the constraint with it.
std::string rename_sql(const char* kind, const catalog::qualified_name& from,
                       const std::string& to);

// owner_sql: ALTER <kind> relation OWNER TO role.
std::string owner_sql(const char* kind, const std::string& relation, const std::string& owner);

// role_sql: a grantee or policy role: PUBLIC stays a keyword, any other name is quoted.
std::string role_sql(const std::string& role);

// grant_sql / revoke_sql: one privilege (table or column level) of one grantee on a table, view,
// materialized view or sequence. Throws runtime_error for a privilege name it does not know (the
// names come from aclexplode(); anything else is refused rather than pasted into SQL).
std::string grant_sql(const std::string& relation, const catalog::grant& grant);
std::string revoke_sql(const std::string& relation, const catalog::grant& grant);

// comment_sql: COMMENT ON <kind> object IS 'text' (or IS NULL to remove one). kind is TABLE,
// VIEW, MATERIALIZED VIEW, COLUMN, INDEX, ...; object is already rendered.
std::string comment_sql(const char* kind, const std::string& object,
                        const std::optional<std::string>& comment);

// policy_sql: CREATE POLICY name ON table AS PERMISSIVE|RESTRICTIVE FOR cmd TO roles
// [USING (..)] [WITH CHECK (..)]. The expressions are the server's pg_get_expr() text.
std::string policy_sql(const std::string& table, const catalog::policy& policy);

// row_security_sql: ALTER TABLE ... ENABLE|DISABLE ROW LEVEL SECURITY, [NO] FORCE ROW LEVEL
// SECURITY, as one statement.
std::string row_security_sql(const std::string& table, bool enabled, bool forced);

// trigger_state_sql: the ALTER TABLE that gives a trigger the state pg_trigger.tgenabled had:
// O enable, D disable, R enable replica, A enable always. CREATE TRIGGER makes an 'O' trigger,
// so callers need it only for the other states.
std::string trigger_state_sql(const std::string& table, const std::string& trigger, char state);

// replica_identity_sql: ALTER TABLE ... REPLICA IDENTITY DEFAULT | FULL | NOTHING | USING INDEX
// index (relreplident d, f, n, i); index is unqualified (it lives in the table's schema).
std::string replica_identity_sql(const std::string& table, char identity,
                                 const std::string& index = "");

// column_statistics_sql / column_storage_sql: ALTER TABLE ... ALTER COLUMN ... SET STATISTICS n
// (-1: back to the default) / SET STORAGE PLAIN|EXTERNAL|MAIN|EXTENDED (nullopt for an unknown
// attstorage letter).
std::string column_statistics_sql(const std::string& table, const std::string& column,
                                  std::optional<int> statistics);
std::optional<std::string> column_storage_sql(const std::string& table, const std::string& column,
                                              char storage);

// options_clause: " WITH (name=value, ...)" for reloptions as pg_class stores them
// ("security_barrier=true", "check_option=local"), "" for none. Names must look like option
// names and values are bare only when they are plain words, so nothing can inject; throws
// runtime_error for an option it cannot render.
std::string options_clause(const std::vector<std::string>& options);

// view_query: a pg_get_viewdef() text without its trailing semicolon and whitespace, ready to
// follow "AS" and be followed by "WITH DATA".
std::string view_query(const std::string& definition);

// replace_view_sql: CREATE OR REPLACE VIEW name [WITH (options)] AS query. The options are given
// in full because CREATE OR REPLACE resets any not named (check_option is one of them).
std::string replace_view_sql(const catalog::qualified_name& name,
                             const std::vector<std::string>& options,
                             const std::string& definition);

// create_view_sql: CREATE [MATERIALIZED] VIEW name [USING am] [WITH (options)]
// [TABLESPACE ts] AS query [WITH [NO] DATA] (the last parts for materialized views only).
struct view_shape {
    catalog::qualified_name name;
    bool materialized = false;
    std::vector<std::string> options;
    std::optional<std::string> tablespace;
    std::optional<std::string> access_method;  // materialized views, when not heap
    bool populated = true;                     // materialized views: WITH DATA or WITH NO DATA
};
std::string create_view_sql(const view_shape& view, const std::string& definition);

// drop_view_sql: DROP [MATERIALIZED] VIEW name, without CASCADE: anything depending on it that
// the swap does not recreate must make the swap fail, not vanish silently.
std::string drop_view_sql(const catalog::qualified_name& name, bool materialized);

// publication_add_sql: ALTER PUBLICATION pub ADD TABLE table [(columns)] [WHERE (filter)];
// columns_sql is an already quoted, comma-separated list (format('%I') on the server).
std::string publication_add_sql(const std::string& publication, const std::string& table,
                                const std::optional<std::string>& columns_sql,
                                const std::optional<std::string>& where_sql);
std::string publication_drop_sql(const std::string& publication, const std::string& table);

// sequence_settings: what pg_sequence holds for one sequence.
struct sequence_settings {
    int64_t start = 1;
    int64_t increment = 1;
    int64_t min = 1;
    int64_t max = 0;
    int64_t cache = 1;
    bool cycle = false;
};

// sequence_settings_sql: ALTER SEQUENCE seq INCREMENT BY .. MINVALUE .. MAXVALUE .. START WITH
// .. CACHE .. [NO] CYCLE, so an identity column's new sequence behaves like the old one.
std::string sequence_settings_sql(const std::string& sequence, const sequence_settings& s);

// sequence_owner_sql: ALTER SEQUENCE seq OWNED BY table.column.
std::string sequence_owner_sql(const std::string& sequence, const std::string& table,
                               const std::string& column);

// repointed_fk: the statements that re-point one inbound foreign key. The definition must have
// been read while its REFERENCES named the source by its (then) name, so after the renames the
// same text reaches the partitioned table.
struct repointed_fk {
    std::string drop_sql;      // ALTER TABLE referencing DROP CONSTRAINT name
    std::string add_sql;       // ALTER TABLE referencing ADD CONSTRAINT name <definition> ...
    std::string validate_sql;  // after commit; empty when nothing is left to validate
};
// repoint_fk_sql: add_not_valid adds it NOT VALID (cheap under the lock) and validates after
// the commit; without it the constraint is checked while it is added. A constraint that was NOT
// VALID on the source stays NOT VALID and is never validated.
repointed_fk repoint_fk_sql(const catalog::foreign_key& fk, bool add_not_valid);
std::string drop_constraint_sql(const catalog::foreign_key& fk);

}  // namespace partshift::cutover
