// checksum_sql: the SQL text verify sends, built from already-quoted identifiers. Pure: no
// connection, no values. Key-range bounds reach the server as transaction-local settings
// (copy::snapshot_sql / copy::range_predicate, the copier's own predicate), keys to recheck as
// array parameters: values never appear in the text (invariant 7).
//
// Content is compared server-side: each row's text form over every column (ROW(...)::text in the
// session's output settings, the same for both sides) is hashed with hashtextextended, and a
// side's digest is the row count plus the sum of those 64-bit hashes (numeric, so it cannot
// overflow). A sum is independent of physical order and of the partitioning; only counts and
// digests, or a bounded list of keys, ever reach the client.
//
// The spec is a copy::quoted_copy_spec with source = the plain table (left) and target = the
// partitioned table (right); columns are every column of the left table, generated ones
// included.
#pragma once

#include <string>
#include <vector>

#include "partshift/copy/chunk.hpp"
#include "partshift/copy/chunk_sql.hpp"

namespace partshift::verify {

// left_digest_sql: (rows bigint, digest text) of the left table in the chunk.
std::string left_digest_sql(const copy::quoted_copy_spec& spec, const copy::chunk_bounds& bounds);

// right_digest_sql: (rows, digest, keys present more than once) of the right table in the
// chunk. Grouped by the apply key, so the same scan counts duplicate source keys.
std::string right_digest_sql(const copy::quoted_copy_spec& spec, const copy::chunk_bounds& bounds);

// duplicate_keys_sql: key columns as text, then the number of copies, of keys present more than
// once in the right table's chunk, key order; $1 = the most to return.
std::string duplicate_keys_sql(const copy::quoted_copy_spec& spec,
                               const copy::chunk_bounds& bounds);

// diff_keys_sql: the keys of the chunk whose rows differ between the sides (missing on one side
// included), key order; $1 = the most to return. Columns: the key columns as text, then
// left rows, left digest, right rows, right digest (0 and "0" where absent).
std::string diff_keys_sql(const copy::quoted_copy_spec& spec, const copy::chunk_bounds& bounds);

// recheck_keys_sql: the same columns as diff_keys_sql for a given list of keys, one array
// parameter per key column ($1 … $n, see pg/array_literal), whether or not they still differ.
std::string recheck_keys_sql(const copy::quoted_copy_spec& spec);

}  // namespace partshift::verify
