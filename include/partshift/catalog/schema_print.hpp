// schema_print: the fingerprint of everything the swap relies on (issue 20 item 1): one item
// per column (name, position, type, typmod, collation, identity, generated expression,
// default, NOT NULL), column and table grants, index, constraint, trigger (definition and
// state apart), rule, policy, row level security, replica identity, owner, publication
// membership and dependent found through pg_depend. Read with one catalog query, compared
// by a pure function that says per difference whether the swap carries it over (it reads
// these again under its lock) or the job must stop. Must not change anything; must not read
// table data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/pg/connection.hpp"
#include "partshift/pg/result.hpp"

namespace partshift::catalog {

// print_item: one thing the swap relies on: kind ("column", "index", ...), its name within
// the kind ("" for the table's own settings), and its definition as the server spells it.
struct print_item {
    std::string kind;
    std::string name;
    std::string text;
    bool operator==(const print_item&) const = default;
};

// schema_print_sql: the items of table $1 (oid), leaving out membership in publication $2
// (partshift's own); columns kind, name, text, ordered by kind and name. Its texts come from
// the server's deparsers: run it under search_path = '' so every name in them is qualified
// the same way whoever reads it (read_schema_print does that).
extern const char* const schema_print_sql;

// print_items reads the rows of schema_print_sql.
std::vector<print_item> print_items(const pg::result& r);

// read_schema_print runs schema_print_sql under search_path = '': SET LOCAL inside the
// caller's transaction (restored afterwards), or in a transaction of its own when none is open.
std::vector<print_item> read_schema_print(pg::connection& conn, uint32_t table_oid,
                                          const std::string& skip_publication);

// print_verdict: what a difference means for the job.
enum class print_verdict {
    carried,  // the swap reads it again under its lock and carries it over
    stop,     // the partitioned table would differ: stop before the lock (undo it, or start again)
    restart,  // the columns changed: the copy no longer matches; abort and start again
};

struct print_difference {
    std::string kind;
    std::string name;
    std::optional<std::string> before;  // nullopt: added since
    std::optional<std::string> after;   // nullopt: removed since
    print_verdict verdict = print_verdict::carried;
};

// compare_prints: every item added, removed or changed between the recorded print and now,
// with its verdict, in kind and name order.
std::vector<print_difference> compare_prints(const std::vector<print_item>& recorded,
                                             const std::vector<print_item>& now);

// describe_difference: one line, e.g. "index events_v_idx was added (CREATE INDEX ...)".
std::string describe_difference(const print_difference& difference);

// stop_message: nullopt when every difference is carried; else the message that stops the
// job: the table, each difference that stops it, and what to do next (`partshift abort --job
// JOB` and start again; for differences other than columns, undoing them works too).
std::optional<std::string> stop_message(const std::vector<print_difference>& differences,
                                        const std::string& table, const std::string& job);

}  // namespace partshift::catalog
