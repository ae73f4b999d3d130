// Unit tests for apply/lane_routing (no server): which lane a key goes to, which changes run
// behind a barrier, and what a lane's saved position skips on resume.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "partshift/apply/lane_routing.hpp"

using namespace partshift::apply;
using key_index = partshift::catalog::index;
using partshift::catalog::table_model;

TEST(ApplyLaneRouting, OneLaneTakesEveryKey) {
    EXPECT_EQ(lane_of(16384, "k1", 1), 0u);
    EXPECT_EQ(lane_of(16384, "", 1), 0u);
}

TEST(ApplyLaneRouting, AKeyAlwaysGoesToTheSameLaneAndKeysSpreadOverAll) {
    std::set<size_t> used;
    for (int i = 0; i < 200; ++i) {
        const std::string key = "4:" + std::to_string(i);
        const size_t lane = lane_of(16384, key, 4);
        ASSERT_LT(lane, 4u);
        EXPECT_EQ(lane_of(16384, key, 4), lane);
        used.insert(lane);
    }
    EXPECT_EQ(used.size(), 4u);
}

TEST(ApplyLaneRouting, TheLaneOfAKeyIsFixedAcrossBuilds) {
    // A resumed run (maybe of another build) must find each key in the lane whose saved
    // position covers it: the hash is FNV-1a, pinned here.
    EXPECT_EQ(lane_of(0, "", 1000003), 411991u);  // 5558979605539197941 % 1000003
    EXPECT_EQ(lane_of(16384, "4:7", 16), 4u);
    EXPECT_EQ(lane_of(16384, "4:8", 16), 9u);
    EXPECT_NE(lane_of(1, "a", 1000003), lane_of(2, "a", 1000003));  // the relid counts
}

TEST(ApplyLaneRouting, KeyChangesAndTruncatesNeedABarrier) {
    EXPECT_EQ(rule_for(change_kind::update, true, false, 4), lane_rule::barrier);
    EXPECT_EQ(rule_for(change_kind::truncate, false, false, 4), lane_rule::barrier);
    EXPECT_EQ(rule_for(change_kind::truncate, false, true, 4), lane_rule::barrier);
    EXPECT_EQ(rule_for(change_kind::update, false, false, 4), lane_rule::by_key);
    EXPECT_EQ(rule_for(change_kind::insert, false, false, 4), lane_rule::by_key);
    EXPECT_EQ(rule_for(change_kind::remove, false, false, 4), lane_rule::by_key);
}

TEST(ApplyLaneRouting, APinnedTableGoesToLaneZeroWithoutBarrierEvenForKeyChanges) {
    EXPECT_EQ(rule_for(change_kind::insert, false, true, 4), lane_rule::lane_zero);
    EXPECT_EQ(rule_for(change_kind::update, true, true, 4), lane_rule::lane_zero);
    EXPECT_EQ(rule_for(change_kind::remove, false, true, 4), lane_rule::lane_zero);
}

TEST(ApplyLaneRouting, OneLaneNeverWaitsOnABarrier) {
    EXPECT_EQ(rule_for(change_kind::update, true, false, 1), lane_rule::by_key);
    EXPECT_EQ(rule_for(change_kind::truncate, false, true, 1), lane_rule::by_key);
}

TEST(ApplyLaneRouting, ATableWithAnotherUniqueIndexOrExclusionIsPinned) {
    table_model t;
    key_index pk;
    pk.is_primary = pk.is_unique = pk.is_constraint = true;
    t.indexes.push_back(pk);
    key_index plain;
    t.indexes.push_back(plain);
    EXPECT_FALSE(pinned_to_lane_zero(t));
    key_index unique;
    unique.is_unique = true;
    t.indexes.push_back(unique);
    EXPECT_TRUE(pinned_to_lane_zero(t));
    t.indexes.pop_back();
    key_index exclusion;
    exclusion.is_constraint = true;
    t.indexes.push_back(exclusion);
    EXPECT_TRUE(pinned_to_lane_zero(t));
}

TEST(ApplyLaneRouting, APositionSkipsEarlierTransactionsAndTheAppliedPartOfAPartialOne) {
    const lane_position p{.applied = 0x200, .partial_commit = 0x300, .partial_changes = 5};
    EXPECT_TRUE(already_applied(p, 0x1f0, 1000));  // committed before the saved end LSN
    EXPECT_FALSE(already_applied(p, 0x200, 0));    // the next transaction starts at it
    EXPECT_TRUE(already_applied(p, 0x300, 4));     // before the barrier
    EXPECT_FALSE(already_applied(p, 0x300, 5));    // the barrier's change itself
    EXPECT_FALSE(already_applied(p, 0x301, 0));
    const lane_position whole{.applied = 0x200};
    EXPECT_FALSE(already_applied(whole, 0x300, 0));  // no partial transaction
}

TEST(ApplyLaneRouting, TheJobStandsWhereItsSlowestLaneStands) {
    EXPECT_EQ(slowest_lane({}), 0u);
    EXPECT_EQ(slowest_lane({{.applied = 0x30}, {.applied = 0x10}, {.applied = 0x20}}), 0x10u);
    EXPECT_TRUE(lanes_agree({}));
    EXPECT_TRUE(lanes_agree({{.applied = 0x30}, {.applied = 0x30}}));
    EXPECT_FALSE(lanes_agree({{.applied = 0x30}, {.applied = 0x10}}));
    EXPECT_FALSE(lanes_agree(
        {{.applied = 0x30}, {.applied = 0x30, .partial_commit = 0x40, .partial_changes = 1}}));
}

TEST(ApplyLaneRouting, AJobWithoutLaneRowsStartsEveryLaneAtItsAppliedLsn) {
    const auto plan = plan_lanes({}, 4, 0x50);
    EXPECT_EQ(plan.lanes, 4u);
    ASSERT_EQ(plan.positions.size(), 4u);
    for (const auto& p : plan.positions) EXPECT_EQ(p, lane_position{.applied = 0x50});
    EXPECT_FALSE(plan.reset_rows);
    const auto one = plan_lanes({}, 1, 0x50);
    EXPECT_EQ(one.lanes, 1u);
    EXPECT_EQ(one.positions, std::vector<lane_position>{{.applied = 0x50}});
}

TEST(ApplyLaneRouting, EachLaneResumesFromItsOwnRowAndAMissingRowFromTheJob) {
    const auto plan = plan_lanes({{0, {.applied = 0x90}}, {2, {.applied = 0x70}}}, 3, 0x50);
    EXPECT_EQ(plan.lanes, 3u);
    EXPECT_EQ(plan.positions, (std::vector<lane_position>{
                                  {.applied = 0x90}, {.applied = 0x50}, {.applied = 0x70}}));
    EXPECT_FALSE(plan.reset_rows);
    EXPECT_FALSE(plan.kept_saved_count);
}

TEST(ApplyLaneRouting, TheNumberOfLanesChangesOnlyWhereEveryLaneAgrees) {
    const std::vector<saved_lane> agree{{0, {.applied = 0x90}}, {1, {.applied = 0x90}}};
    const auto fewer = plan_lanes(agree, 1, 0x90);
    EXPECT_EQ(fewer.lanes, 1u);
    EXPECT_TRUE(fewer.reset_rows);
    EXPECT_EQ(fewer.positions, std::vector<lane_position>{{.applied = 0x90}});
    const auto more = plan_lanes(agree, 4, 0x90);
    EXPECT_EQ(more.lanes, 4u);
    EXPECT_TRUE(more.reset_rows);

    // A killed run: its lanes stand apart, so this run keeps their number.
    const std::vector<saved_lane> apart{{0, {.applied = 0x90}}, {1, {.applied = 0x60}}};
    const auto kept = plan_lanes(apart, 4, 0x60);
    EXPECT_EQ(kept.lanes, 2u);
    EXPECT_TRUE(kept.kept_saved_count);
    EXPECT_FALSE(kept.reset_rows);
    EXPECT_EQ(kept.positions[1], lane_position{.applied = 0x60});

    // Agreeing in the middle of a transaction: one lane could not say so, so the number stays.
    const lane_position mid{.applied = 0x90, .partial_commit = 0xa0, .partial_changes = 3};
    const auto partial = plan_lanes({{0, mid}, {1, mid}}, 1, 0x90);
    EXPECT_EQ(partial.lanes, 2u);
    EXPECT_TRUE(partial.kept_saved_count);
}
