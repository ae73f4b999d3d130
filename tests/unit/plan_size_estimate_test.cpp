// plan::size_estimate (issue 21 item 8): the disk and WAL arithmetic of `plan` and the
// partition-count warning with its coarser interval, on hand-made plans and facts.
#include <gtest/gtest.h>

#include "partshift/plan/size_estimate.hpp"

namespace {

using namespace partshift::plan;

target_plan plan_with(std::size_t partitions, const std::string& interval) {
    target_plan p;
    p.spec.level1.method = partition_method::range;
    p.spec.level1.key = "ts";
    p.spec.level1.interval = interval;
    for (std::size_t i = 0; i < partitions; ++i)
        p.partitions.push_back({.name = "p" + std::to_string(i)});
    planned_index pk;
    pk.name = "events_new_pkey";
    pk.source_index = "events_pkey";
    planned_index by_user;
    by_user.name = "events_new_user_idx";
    by_user.source_index = "events_user_idx";
    p.indexes = {pk, by_user};
    return p;
}

storage_facts facts() {
    storage_facts f;
    f.table_bytes = 1000 * 8192;
    f.heap_bytes = 900 * 8192;
    f.indexes_bytes = 300 * 8192;
    f.indexes = {{"events_pkey", 200 * 8192}, {"events_user_idx", 100 * 8192}};
    return f;
}

TEST(SizeEstimate, TableAndIndexesFromTheSourceSizes) {
    const auto e = estimate_sizes(plan_with(10, "1 month"), facts());
    EXPECT_EQ(e.table_bytes, 1000 * 8192);
    ASSERT_EQ(e.indexes.size(), 2u);
    // The source index, plus one page for each of the 10 partitions' own index.
    EXPECT_EQ(e.indexes[0].name, "events_new_pkey");
    EXPECT_EQ(e.indexes[0].bytes, (200 + 10) * 8192);
    EXPECT_EQ(e.indexes[1].bytes, (100 + 10) * 8192);
    EXPECT_EQ(e.indexes_bytes, (320) * 8192);
    EXPECT_EQ(e.total_bytes, (1320) * 8192);
}

TEST(SizeEstimate, WalCountsTheTableOnceWithHeadersAndEveryIndexPage) {
    auto f = facts();
    auto e = estimate_sizes(plan_with(10, "1 month"), f);
    EXPECT_EQ(e.wal_bytes, static_cast<int64_t>(1000 * 8192 * 1.1) + 320 * 8192);
    EXPECT_EQ(e.wal_bytes_high, e.wal_bytes) << "no hint-bit images without checksums";
    f.hint_bits_logged = true;
    e = estimate_sizes(plan_with(10, "1 month"), f);
    EXPECT_EQ(e.wal_bytes_high, e.wal_bytes + 1000 * 8192);
    f.full_page_writes = false;
    e = estimate_sizes(plan_with(10, "1 month"), f);
    EXPECT_EQ(e.wal_bytes_high, e.wal_bytes) << "no full-page images at all";
}

TEST(SizeEstimate, LinesSayItIsAnEstimateAndWhatSqlCannotTell) {
    auto f = facts();
    f.hint_bits_logged = true;
    const auto e = estimate_sizes(plan_with(10, "1 month"), f);
    ASSERT_EQ(e.lines.size(), 3u);
    EXPECT_NE(e.lines[0].find("disk: ~10.3 MB in all: table ~7.8 MB, indexes ~2.5 MB"),
              std::string::npos)
        << e.lines[0];
    EXPECT_NE(e.lines[0].find("events_new_pkey ~1.6 MB"), std::string::npos) << e.lines[0];
    EXPECT_NE(e.lines[0].find("estimate"), std::string::npos) << e.lines[0];
    EXPECT_NE(e.lines[1].find("WAL: the copy and the index builds write ~"), std::string::npos)
        << e.lines[1];
    EXPECT_NE(e.lines[1].find("wal_level logical, full_page_writes on"), std::string::npos)
        << e.lines[1];
    EXPECT_NE(e.lines[1].find("up to ~"), std::string::npos) << e.lines[1];
    EXPECT_NE(e.lines[2].find("not something SQL can tell"), std::string::npos) << e.lines[2];
}

TEST(SizeEstimate, PartitionCountWarningAndCoarserInterval) {
    EXPECT_FALSE(partition_count_warning(plan_with(1000, "1 hour")));
    // A year of hourly partitions (the 8,761).
    auto w = partition_count_warning(plan_with(8761, "1 hour"));
    ASSERT_TRUE(w);
    EXPECT_NE(w->find("8761 partitions"), std::string::npos) << *w;
    EXPECT_NE(w->find("--interval '1 day' (about 366 partitions)"), std::string::npos) << *w;
    // Daily over ten years: the first coarser interval that fits.
    w = partition_count_warning(plan_with(3653, "1 day"));
    ASSERT_TRUE(w);
    EXPECT_NE(w->find("--interval '1 week' (about 522 partitions)"), std::string::npos) << *w;
    // Hourly over three years: a day is still too fine, a week is not.
    w = partition_count_warning(plan_with(26300, "1 hour"));
    ASSERT_TRUE(w);
    EXPECT_NE(w->find("--interval '1 week' (about 157 partitions)"), std::string::npos) << *w;
    // An integer step grows tenfold until the count fits.
    auto stepped = plan_with(5000, "1 day");
    stepped.spec.level1.interval.reset();
    stepped.spec.level1.step = "1000";
    w = partition_count_warning(stepped);
    ASSERT_TRUE(w);
    EXPECT_NE(w->find("--step 10000 (about 500 partitions)"), std::string::npos) << *w;
    // HASH: no coarser interval to offer.
    auto hashed = plan_with(1024, "1 day");
    hashed.spec.level1.method = partition_method::hash;
    hashed.spec.level1.interval.reset();
    w = partition_count_warning(hashed);
    ASSERT_TRUE(w);
    EXPECT_NE(w->find("consider fewer partitions"), std::string::npos) << *w;
}

}  // namespace
