// sql_builder: the statements the applier runs against one relation, built from the column
// list pgoutput sends (non-generated columns, in order) and the source's apply key.
// Pure: no connection, no I/O. Every identifier is quoted here and every value is a `$n`
// parameter typed by the column's type oid (invariant 7); never a literal.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "partshift/catalog/table_model.hpp"

namespace partshift::apply {

// column_def: one column as the replication stream carries it.
struct column_def {
    std::string name;
    uint32_t type_oid = 0;
    // GENERATED ALWAYS identity: INSERT needs OVERRIDING SYSTEM VALUE and UPDATE may not set
    // it (the server only allows DEFAULT there), so update masks leave it out.
    bool identity_always = false;
    // format_type name (SQL-safe as the server rendered it) and pg_type.typcategory: the
    // set-based statements cast their array parameters to `type_name[]`. Empty: unknown, and
    // the relation is applied row by row.
    std::string type_name = {};
    char type_category = '\0';
    bool operator==(const column_def&) const = default;
};

// column_mask: one flag per column; true = the column was sent and is written.
using column_mask = std::vector<bool>;

// quote_qualified: "schema"."name" (just "name" when the schema is empty), through
// pg::escape_qualified.
std::string quote_qualified(const catalog::qualified_name& name);
// truncate_sql: one TRUNCATE of the given (quoted) relations, RESTART IDENTITY on request. One
// statement, not one per relation: a table referenced by a foreign key of another may only be
// truncated together with it. No params.
std::string truncate_sql(const std::vector<std::string>& relations, bool restart_identity);

// statement: SQL with `$n` placeholders and the type oid of each placeholder, in order, ready
// for PQsendPrepare.
struct statement {
    std::string sql;
    std::vector<uint32_t> param_types;
};

class sql_builder {
  public:
    // relation: a quoted (qualified) name. key: indexes into columns, in key order.
    // An INSERT says OVERRIDING SYSTEM VALUE when a column is a GENERATED ALWAYS identity.
    sql_builder(std::string relation, std::vector<column_def> columns, std::vector<size_t> key);

    // for_table: the builder for `relation` fed with `source`'s stream: its non-generated
    // columns and its apply key (primary key or replica identity index — the source's key,
    // not the target's). Throws usage_error when the source has no usable key.
    static sql_builder for_table(const catalog::table_model& source,
                                 const catalog::qualified_name& relation);

    const std::string& relation() const { return relation_; }
    const std::vector<column_def>& columns() const { return columns_; }
    const std::vector<size_t>& key() const { return key_; }

    // insert: params = every column, in column order.
    const statement& insert() const { return insert_; }
    // delete_by_key: params = the key columns, in key order.
    const statement& delete_by_key() const { return delete_; }
    // select_by_key: returns every column in column order; params = the key columns.
    const statement& select_by_key() const { return select_; }
    // update_by_key: sets exactly the masked columns (key columns too when masked, so a key
    // or partition-key change moves the row); params = the masked columns in column order,
    // then the (old) key columns in key order. Built once per mask and cached.
    // Throws std::invalid_argument when the mask has the wrong size, sets no column or sets a
    // GENERATED ALWAYS identity column (use updatable_mask first).
    const statement& update_by_key(const column_mask& set);
    // update_in_partition: update_by_key that also requires the `located` columns (the
    // partition keys) to equal given values, so the server prunes to one partition instead of
    // probing the key index of every partition. Params: as update_by_key, then the located
    // columns in the order given. Finds nothing when the row sits elsewhere (its partition key
    // changed); the caller then runs update_by_key. Cached per mask like update_by_key.
    const statement& update_in_partition(const column_mask& set,
                                         const std::vector<size_t>& located);
    // updatable_mask: `sent` without the GENERATED ALWAYS identity columns.
    column_mask updatable_mask(column_mask sent) const;
    // truncate: truncate_sql of this relation alone.
    std::string truncate(bool restart_identity) const;

    // Set-based statements for a run of strict-mode changes with distinct keys. Each
    // parameter is one array literal (pg/array_literal.hpp) holding that parameter of every row,
    // in row order, cast in the SQL to `type_name[]`; the rows are numbered from 1 (WITH
    // ORDINALITY). Each statement returns only the rows that diverged, as (n bigint,
    // found bigint): n the row number, found the rows it found on the target (insert: 1 = the
    // key, or another unique value of the row, already exists; ON CONFLICT DO NOTHING keeps
    // the transaction usable so the applier can name the key). No row back = every row
    // applied exactly once.
    //
    // supports_sets: every column has a known, non-array type whose array delimiter is a
    // comma (not box); otherwise the set statements throw std::logic_error.
    bool supports_sets() const;
    // insert_set: params = every column (as insert()).
    const statement& insert_set();
    // delete_set: params = the key columns (as delete_by_key()); expects one row per key.
    const statement& delete_set();
    // update_set: params = the masked columns then the key (as update_by_key()); expects one
    // row per key. The mask may not set a key column (key changes go row by row).
    // With `located` columns (partition key columns, as update_in_partition): their values
    // follow the key as more parameters, and a row is matched in the partition they name only,
    // so the server probes one partition per row instead of every partition's key index; a
    // row that moved partition is reported with count 0 (the caller updates it by key alone).
    const statement& update_set(const column_mask& set, const std::vector<size_t>& located = {});

    size_t cached_updates() const { return updates_.size(); }

  private:
    std::string key_condition(size_t first_param) const;
    // set_source: `WITH v AS MATERIALIZED (SELECT * FROM unnest($1::t1[], …) WITH ORDINALITY
    // AS v("c1", …, "n"))` over the given columns, one parameter each; fills param_types.
    std::string set_source(const std::vector<size_t>& columns, statement& st) const;

    std::string relation_;
    std::vector<column_def> columns_;
    std::vector<size_t> key_;
    statement insert_;
    statement delete_;
    statement select_;
    std::map<column_mask, statement> updates_;
    std::map<std::pair<column_mask, std::vector<size_t>>, statement> located_updates_;
    std::optional<statement> insert_set_;
    std::optional<statement> delete_set_;
    std::map<std::pair<column_mask, std::vector<size_t>>, statement> update_sets_;
};

}  // namespace partshift::apply
