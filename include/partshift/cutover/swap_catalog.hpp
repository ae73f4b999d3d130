// swap_catalog: the catalog reads the table swap needs beyond catalog::table_model — the lock
// check, free names, partitions, sequence settings and values, publication membership, the
// child indexes of a partitioned index — and swap_runner, which runs the swap's statements so
// that a failure names its step and statement. Reads take parameters only; the runner executes
// what cutover/swap_sql rendered and must not decide anything itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/cutover/swap_sql.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::cutover {

// swap_runner: executes statements inside the caller's transaction. A failure is rethrown with
// the current step and the statement in its message (pg_error keeps its SQLSTATE); the caller
// rolls back.
class swap_runner {
  public:
    swap_runner(pg::connection& conn, std::vector<std::string>& steps)
        : conn_(conn), steps_(steps) {}
    pg::connection& conn() { return conn_; }
    // step names what follows, for error messages ("renames", "grants", ...).
    // Each step's duration is logged at debug level: the swap runs under the cutover's lock.
    void step(std::string name);
    const std::string& current_step() const { return step_; }
    void exec(const std::string& sql);
    void exec(const std::string& sql, const pg::param_list& params);
    // note records one line for the swap's log.
    void note(std::string line) { steps_.push_back(std::move(line)); }
    // fail throws runtime_error naming the current step.
    [[noreturn]] void fail(const std::string& message) const;

  private:
    pg::connection& conn_;
    std::vector<std::string>& steps_;
    std::string step_;
    std::chrono::steady_clock::time_point step_started_{};
};

// relation_facts: kind and oid of an existing relation.
struct relation_facts {
    uint32_t oid = 0;
    char relkind = '\0';
};
std::optional<relation_facts> find_relation(pg::connection& conn,
                                            const catalog::qualified_name& name);

// holds_access_exclusive: whether this session holds ACCESS EXCLUSIVE on the relation.
bool holds_access_exclusive(pg::connection& conn, uint32_t relation_oid);

// name_taken: a relation (table, index, sequence, view) or a type of that name exists in the
// schema. Renaming a table renames its row type too, so both namespaces count.
bool name_taken(pg::connection& conn, const std::string& schema, const std::string& name);

// free_name: base + suffix fitted to 63 bytes, or base + suffix + "_2", "_3", ... when taken.
std::string free_name(pg::connection& conn, const std::string& schema, const std::string& base,
                      const std::string& suffix);

// partitions_of: every partition below a partitioned table, all levels, parents first.
std::vector<catalog::qualified_name> partitions_of(pg::connection& conn,
                                                   const catalog::qualified_name& table);

// index_children: the partitions' indexes attached to a partitioned index, with their tables
// (all levels).
struct child_index {
    catalog::qualified_name table;
    std::string index;
};
std::vector<child_index> index_children(pg::connection& conn, const catalog::qualified_name& index);

// read_sequence_settings: pg_sequence of one sequence.
sequence_settings read_sequence_settings(pg::connection& conn,
                                         const catalog::qualified_name& sequence);

// next_identity_floor: the value an identity sequence must be set to (setval(.., v, true)) so
// its next value collides with nothing: the sequence's last value and the column's extreme
// (max for an ascending sequence, min for a descending one), whichever is further along;
// nullopt when the sequence was never used and the table is empty. Reads the column's extreme
// with an aggregate: under the lock, and cheap only when the column is indexed (identity
// columns nearly always are the primary key).
std::optional<int64_t> next_identity_floor(pg::connection& conn,
                                           const catalog::qualified_name& sequence,
                                           const catalog::qualified_name& table,
                                           const std::string& column, bool ascending);

// publication_membership: one publication the table is listed in (FOR TABLE), with its column
// list and row filter (PostgreSQL 15+).
struct publication_membership {
    std::string publication;
    bool via_root = false;  // publish_via_partition_root
    std::optional<std::string> columns_sql;
    std::optional<std::string> where_sql;
};
std::vector<publication_membership> read_publications(pg::connection& conn, uint32_t table_oid,
                                                      const std::string& skip);

// relation_comment: the comment on a relation (a sequence's too); nullopt when it has none.
std::optional<std::string> relation_comment(pg::connection& conn, uint32_t relation_oid);

// read_relkind_of: relkind of each given relation (by name); '\0' when missing.
char relkind_of(pg::connection& conn, const catalog::qualified_name& name);

}  // namespace partshift::cutover
