// Unit tests for revert_window_refusal (issue 20 item 4) on hand-built table models: which
// unique indexes and exclusion constraints a revert window needs kept (no server).
#include <gtest/gtest.h>

#include "partshift/plan/revert_window_check.hpp"

using namespace partshift::plan;
namespace catalog = partshift::catalog;

namespace {

catalog::index idx(std::string name, std::string using_clause, std::vector<std::string> keys,
                   bool unique) {
    catalog::index i;
    i.name = std::move(name);
    i.using_clause = std::move(using_clause);
    i.key_columns = std::move(keys);
    i.is_unique = unique;
    i.method = "btree";
    return i;
}

catalog::table_model events() {
    catalog::table_model t;
    t.name = {"public", "events"};
    auto pk = idx("events_pkey", "USING btree (id)", {"id"}, true);
    pk.is_primary = true;
    pk.is_constraint = true;
    pk.constraint_name = "events_pkey";
    t.indexes.push_back(pk);
    t.indexes.push_back(
        idx("events_customer_idx", "USING btree (customer_id)", {"customer_id"}, false));
    return t;
}

partition_spec by(std::string key) {
    partition_spec s;
    s.level1.method = partition_method::range;
    s.level1.key = std::move(key);
    s.level1.interval = "1 month";
    return s;
}

}  // namespace

TEST(PlanRevertWindowCheck, TheKeyAndPlainIndexesAreNotJudged) {
    // The primary key loses uniqueness across partitions too, but every window has it: a
    // duplicate of it breaks the window at the reverse apply, which says so.
    EXPECT_FALSE(revert_window_refusal(events(), by("ts")).has_value());
}

TEST(PlanRevertWindowCheck, AUniqueIndexWithoutThePartitionKeyIsNamedWithTheWayOut) {
    auto t = events();
    t.indexes.push_back(idx("events_ref_key", "USING btree (ref)", {"ref"}, true));
    auto refusal = revert_window_refusal(t, by("ts"));
    ASSERT_TRUE(refusal.has_value());
    EXPECT_NE(refusal->find("unique index events_ref_key of public.events is not kept"),
              std::string::npos)
        << *refusal;
    EXPECT_NE(refusal->find("does not contain the partition key ts"), std::string::npos)
        << *refusal;
    EXPECT_NE(refusal->find("cut over without --revert-window, or make the partition key part "
                            "of that unique index first"),
              std::string::npos)
        << *refusal;
    EXPECT_EQ(refusal->find('\n'), std::string::npos);
    // Kept when it contains the key: then the partitioned table enforces it the same.
    t.indexes.back() = idx("events_ref_key", "USING btree (ref, ts)", {"ref", "ts"}, true);
    EXPECT_FALSE(revert_window_refusal(t, by("ts")).has_value());
}

TEST(PlanRevertWindowCheck, AUniqueConstraintAndAnExclusionConstraintAreRefusedToo) {
    auto t = events();
    auto uc = idx("events_ref_uc_idx", "USING btree (ref)", {"ref"}, true);
    uc.is_constraint = true;
    uc.constraint_name = "events_ref_uc";
    t.indexes.push_back(uc);
    auto refusal = revert_window_refusal(t, by("ts"));
    ASSERT_TRUE(refusal.has_value());
    EXPECT_NE(refusal->find("unique constraint events_ref_uc "), std::string::npos) << *refusal;

    auto x = events();
    auto excl = idx("events_no_overlap", "USING gist (room, during)", {}, false);
    excl.is_constraint = true;
    excl.constraint_name = "events_no_overlap";
    excl.method = "gist";
    x.indexes.push_back(excl);
    refusal = revert_window_refusal(x, by("ts"));
    ASSERT_TRUE(refusal.has_value());
    EXPECT_NE(refusal->find("exclusion constraint events_no_overlap"), std::string::npos)
        << *refusal;
    EXPECT_NE(refusal->find("or drop that constraint first"), std::string::npos) << *refusal;
}

TEST(PlanRevertWindowCheck, BothLevelsKeysAreNeeded) {
    auto t = events();
    t.indexes.push_back(
        idx("events_day_region", "USING btree (ts, region)", {"ts", "region"}, true));
    auto spec = by("ts");
    EXPECT_FALSE(revert_window_refusal(t, spec).has_value());
    level_spec sub;
    sub.method = partition_method::hash;
    sub.key = "customer_id";
    sub.modulus = 4;
    spec.level2 = sub;
    auto refusal = revert_window_refusal(t, spec);
    ASSERT_TRUE(refusal.has_value());
    EXPECT_NE(refusal->find("events_day_region"), std::string::npos) << *refusal;
    EXPECT_NE(refusal->find("partition key ts, customer_id"), std::string::npos) << *refusal;
}
