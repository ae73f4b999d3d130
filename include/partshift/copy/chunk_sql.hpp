// chunk_sql: the SQL text the copier sends, built from already-quoted identifiers. Pure: no
// connection, no values. Values never appear in the text (invariant 7): chunk bounds reach the
// server as parameters of set_config() and the COPY query reads them back with
// current_setting(), because a COPY statement itself cannot take bind parameters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "partshift/copy/chunk.hpp"
#include "partshift/pg/params.hpp"

namespace partshift::copy {

// quoted_copy_spec: a copy_spec with every identifier quoted (quote_ident) by a connection.
struct quoted_copy_spec {
    std::string source;                    // "schema"."table"
    std::string target;                    // "schema"."table"
    std::vector<std::string> columns;      // quoted non-generated columns
    std::vector<std::string> key_columns;  // quoted apply-key columns
    std::vector<std::string> key_types;    // format_type names, SQL-safe as rendered
};

// range_predicate: "(k1, k2) >= (current_setting('partshift.chunk_lower_1')::t1, …) AND …",
// "true" for a chunk without bounds. A row comparison so composite keys order like their index.
std::string range_predicate(const quoted_copy_spec& spec, const chunk_bounds& bounds);

// lock_source_sql: LOCK source IN ACCESS SHARE MODE, the statement before snapshot_sql. LOCK takes
// no snapshot, so the chunk holds the lock from before its snapshot: a TRUNCATE (not MVCC-safe:
// it empties the table for older snapshots too) or a rewrite of the source can then not commit
// between the snapshot and the COPY and leave the chunk with less than its snapshot saw.
std::string lock_source_sql(const quoted_copy_spec& spec);

// snapshot_sql: the first statement of a chunk's source transaction. It takes the snapshot,
// reads the WAL insert position inside it (the chunk's high LSN, column 0) and stores the
// bounds as transaction-local settings for range_predicate. Its parameters: snapshot_params.
std::string snapshot_sql(const chunk_bounds& bounds);
pg::param_list snapshot_params(const chunk_bounds& bounds);

// COPY (SELECT cols FROM source WHERE pred) TO STDOUT (FORMAT binary)
std::string copy_out_sql(const quoted_copy_spec& spec, const chunk_bounds& bounds);
// COPY target (cols) FROM STDIN (FORMAT binary)
std::string copy_in_sql(const quoted_copy_spec& spec);
// INSERT INTO target (cols) OVERRIDING SYSTEM VALUE SELECT cols FROM source WHERE pred: the
// chunk copied inside the server, in the transaction whose snapshot_sql took the snapshot.
// OVERRIDING SYSTEM VALUE keeps the source's values in GENERATED ALWAYS identity columns, as
// COPY does.
std::string insert_select_sql(const quoted_copy_spec& spec, const chunk_bounds& bounds);

// min_max_sql: SELECT min(k)::text, max(k)::text FROM source (single-column integer keys).
std::string min_max_sql(const quoted_copy_spec& spec);
// boundary_sample_sql: every $1-th key in key order, as text, streamed by the server (a window
// over an index-ordered scan); the client holds only the boundaries.
std::string boundary_sample_sql(const quoted_copy_spec& spec);

// text_list: "c1::text, c2::text" — each (quoted) column cast to text, in order; how keys are
// read back as text by the copier's boundary sample and verify's checksums.
std::string text_list(const std::vector<std::string>& columns);

// is_integer_type: smallint, integer, bigint (format_type names).
bool is_integer_type(const std::string& type_name);

}  // namespace partshift::copy
