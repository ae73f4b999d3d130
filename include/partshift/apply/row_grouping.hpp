// row_grouping: the runs of strict-mode changes the applier sends as one set-based statement
// each (consecutive INSERTs, DELETEs, or UPDATEs of one column mask, of one relation, with
// distinct keys), and the pure rules that build them: when a change may join a run, when runs
// must be sent first, how a run's rows become column-wise array literals. The statement
// parameters of a run are exactly those of the row-by-row statements, one array per parameter.
// Pure: no connection and no I/O here; apply_session sends the runs.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "partshift/apply/sql_builder.hpp"
#include "partshift/pg/params.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

// group_rows: the keys of a row group and their source transactions, in row order, kept
// until the group's result is read so a divergence can name its key.
struct group_rows {
    std::vector<pg::param_list> keys;
    std::vector<stream::lsn_t> commit_lsns;
    // A located update run (matched in the partition of each row's new values): each
    // row's plain update parameters, for the fallback by key of a row that moved.
    bool located = false;
    std::vector<pg::param_list> fallback_params;
};

// row_group: the open run of strict-mode changes of one kind (and one column mask for
// updates) of one relation, built column-wise into array literals as the changes arrive.
enum class group_kind : uint8_t { none, insert, remove, update };
struct row_group {
    group_kind kind = group_kind::none;
    column_mask mask;                 // update only
    bool located = false;             // update only: partition values follow the key
    std::vector<std::string> arrays;  // one open array literal per statement parameter
    std::shared_ptr<group_rows> rows;
    std::unordered_set<std::string> keys;  // key_text of every row
    size_t bytes = 0;
    const char* operation = "";
    pg::param_list first_params;                // the first row's statement params
    std::optional<pg::param_list> first_where;  // update: its partition values
};

// row_groups: one open run per kind (insert, delete, update of one mask) of one relation.
using row_groups = std::array<row_group, 3>;

// group_of: the run of `kind` (not none) among a relation's runs.
inline row_group& group_of(row_groups& groups, group_kind kind) {
    return groups[static_cast<size_t>(kind) - 1];
}
bool any_group_open(const row_groups& groups);

// placement: what must be sent before a change joins the run of its kind.
enum class placement : uint8_t {
    join,            // nothing: the change joins (or opens) its run
    send_all_first,  // every open run of the relation goes first
    send_run_first,  // its own run goes first (another mask, or located vs not)
};
// place_change: a key already in a run sends every run first, so each key's changes stay in
// source order (a set statement applies its rows as if at one instant); runs of other kinds
// stay open beside this one only when reordering rows of distinct keys is safe
// (reorder_safe); a run holds one column mask, and located updates only with located ones.
placement place_change(const row_groups& groups, group_kind kind, const column_mask& mask,
                       bool located, const std::string& key_text, bool reorder_safe);

// open_run: makes the empty `group` a run of `kind` whose first change has `params` (and, for
// a located update, the partition values `where`). The first row's own parameters are kept in
// case the run stays one row long: then the row-by-row statement is cheaper.
void open_run(row_group& group, group_kind kind, const column_mask& mask, const char* operation,
              const pg::param_list& params, const std::optional<pg::param_list>& where);
// add_row: appends one change to the open run: its parameters (then its partition values for
// a located run) as array elements, its key (and key_text) and its source transaction.
void add_row(row_group& group, const pg::param_list& params,
             const std::optional<pg::param_list>& where, const pg::param_list& key,
             std::string key_text, stream::lsn_t commit_lsn);
// run_full: the run reached the row or byte cap of one statement (memory stays bounded: inv. 6).
bool run_full(const row_group& group, int max_rows, size_t max_bytes);
// close_run_arrays: the run's array literals, closed, as the set statement's parameters; the
// group's arrays are left empty.
pg::param_list close_run_arrays(row_group& group);

}  // namespace partshift::apply
