// Unit tests for the chunk planner's pure parts: chunk sizing and range arithmetic.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "partshift/copy/chunk_planner.hpp"
#include "partshift/copy/copy_spec.hpp"
#include "partshift/error.hpp"

using namespace partshift;
using namespace partshift::copy;

namespace {

key_value k(int64_t v) {
    return {std::to_string(v)};
}

// covers_exactly: consecutive ranges, unbounded at both ends, each upper = next lower.
void expect_contiguous(const std::vector<chunk_bounds>& ranges) {
    ASSERT_FALSE(ranges.empty());
    EXPECT_FALSE(ranges.front().lower);
    EXPECT_FALSE(ranges.back().upper);
    for (size_t i = 1; i < ranges.size(); ++i) EXPECT_EQ(ranges[i - 1].upper, ranges[i].lower);
}

}  // namespace

TEST(CopyChunkPlanner, RowsPerChunkIsCappedByBytes) {
    chunk_options o;
    EXPECT_EQ(rows_per_chunk(1'000'000, 100'000'000, o), 50'000);  // 100 B/row
    // 2 KB rows: 16 MiB / 2000 B = 8388 rows.
    EXPECT_EQ(rows_per_chunk(100'000, 200'000'000, o), (16 << 20) / 2000);
    // Unknown estimate: the default.
    EXPECT_EQ(rows_per_chunk(0, 0, o), 50'000);
    // 100 MB rows: still at least one row per chunk.
    EXPECT_EQ(rows_per_chunk(10, 1'000'000'000, o), 1);
}

TEST(CopyChunkPlanner, IntegerRangesAreContiguousAndOpenEnded) {
    auto r = integer_ranges(1, 200'000, 50'000);
    ASSERT_EQ(r.size(), 4u);
    expect_contiguous(r);
    EXPECT_EQ(r[0].upper, k(50'001));
    EXPECT_EQ(r[1].lower, k(50'001));
    EXPECT_EQ(r[3].lower, k(150'001));
}

TEST(CopyChunkPlanner, IntegerRangesSingleChunk) {
    auto r = integer_ranges(5, 5, 1000);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0], chunk_bounds{});
    EXPECT_EQ(integer_ranges(1, 1000, 1000).size(), 1u);
    EXPECT_EQ(integer_ranges(1, 1001, 1000).size(), 2u);
}

TEST(CopyChunkPlanner, IntegerRangesAtInt64Limits) {
    constexpr int64_t lo = std::numeric_limits<int64_t>::min();
    constexpr int64_t hi = std::numeric_limits<int64_t>::max();
    auto r = integer_ranges(lo, hi, hi);
    expect_contiguous(r);
    EXPECT_EQ(r.size(), 3u);  // boundaries at lo+hi = -1 and at -1+hi = hi-1
    EXPECT_EQ(r[1].lower, k(-1));
    EXPECT_EQ(r[2].lower, k(hi - 1));
    auto near_top = integer_ranges(hi - 10, hi, 4);
    expect_contiguous(near_top);
    EXPECT_EQ(near_top.size(), 3u);
}

TEST(CopyChunkPlanner, RangesFromBoundariesSkipDuplicates) {
    std::vector<key_value> b = {{"a", "1"}, {"a", "1"}, {"b", "0"}};
    auto r = ranges_from_boundaries(b);
    ASSERT_EQ(r.size(), 3u);
    expect_contiguous(r);
    EXPECT_EQ(r[1].lower, (key_value{"a", "1"}));
    EXPECT_EQ(r[1].upper, (key_value{"b", "0"}));
    EXPECT_EQ(ranges_from_boundaries({}).size(), 1u);
}

TEST(CopyChunkPlanner, NumberChunksFromOne) {
    auto c = number_chunks(integer_ranges(0, 99, 10));
    ASSERT_EQ(c.size(), 10u);
    EXPECT_EQ(c.front().id, 1);
    EXPECT_EQ(c.back().id, 10);
    EXPECT_FALSE(c.front().done);
}

TEST(CopyChunkPlanner, CopySpecLeavesOutGeneratedColumnsAndNeedsAKey) {
    catalog::table_model m;
    m.name = {"public", "t"};
    m.columns = {{.name = "id", .type_name = "bigint"},
                 {.name = "v", .type_name = "text"},
                 {.name = "g", .type_name = "integer", .generated_expr = "(id * 2)"}};
    EXPECT_THROW(make_copy_spec(m, {"public", "t_new"}), usage_error);
    catalog::index pk;
    pk.is_primary = true;
    pk.key_columns = {"id"};
    m.indexes.push_back(pk);
    auto spec = make_copy_spec(m, {"public", "t_new"});
    EXPECT_EQ(spec.columns, (std::vector<std::string>{"id", "v"}));
    ASSERT_EQ(spec.key.size(), 1u);
    EXPECT_EQ(spec.key[0], (key_column{"id", "bigint"}));
}

TEST(CopyChunkPlanner, DenseIntegerRangesOrNoneForSparseKeys) {
    chunk_options o;
    auto dense = dense_integer_ranges(1, 100'000, 100'000, 10'000, o);
    ASSERT_TRUE(dense);
    EXPECT_EQ(dense->size(), 10u);
    expect_contiguous(*dense);
    // 10M keys for 100k rows: over 10× sparser than the rows, so sample instead.
    EXPECT_FALSE(dense_integer_ranges(1, 10'000'000, 100'000, 10'000, o));
    // A span past the int64 range (min..max of bigint) is not an overflow, just sparse.
    EXPECT_FALSE(dense_integer_ranges(std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max(), 1000, 100, o));
}
