// Unit tests for apply/row_grouping (no server): when a change joins a run or runs go first,
// how a run's rows become array parameters, and the caps of one run.
#include <gtest/gtest.h>

#include "partshift/apply/relation_state.hpp"
#include "partshift/apply/row_grouping.hpp"

using namespace partshift;
using namespace partshift::apply;

namespace {

pg::param_list values(std::initializer_list<pg::param> v) {
    return pg::param_list(v);
}

// opened: the run of `kind` in `groups` with one row of key `k`.
row_group& opened(row_groups& groups, group_kind kind, const std::string& k,
                  const column_mask& mask = {}) {
    row_group& g = group_of(groups, kind);
    open_run(g, kind, mask, "OP", values({k}), std::nullopt);
    add_row(g, values({k}), std::nullopt, values({k}), key_text(values({k})), 0x10);
    return g;
}

}  // namespace

TEST(ApplyRowGrouping, AChangeJoinsItsRunWhenItsKeyIsNew) {
    row_groups groups;
    EXPECT_FALSE(any_group_open(groups));
    EXPECT_EQ(place_change(groups, group_kind::insert, {}, false, key_text(values({"1"})), false),
              placement::join);
    opened(groups, group_kind::insert, "1");
    EXPECT_TRUE(any_group_open(groups));
    EXPECT_EQ(place_change(groups, group_kind::insert, {}, false, key_text(values({"2"})), false),
              placement::join);
}

TEST(ApplyRowGrouping, ARepeatedKeySendsEveryRunFirst) {
    // A set statement applies its rows as if at one instant: a key's second change must not
    // join a run holding its first, nor a run beside it.
    row_groups groups;
    opened(groups, group_kind::insert, "1");
    const auto k1 = key_text(values({"1"}));
    EXPECT_EQ(place_change(groups, group_kind::insert, {}, false, k1, true),
              placement::send_all_first);
    EXPECT_EQ(place_change(groups, group_kind::remove, {}, false, k1, true),
              placement::send_all_first);
}

TEST(ApplyRowGrouping, RunsOfOtherKindsStayOpenOnlyWhenReorderingIsSafe) {
    row_groups groups;
    opened(groups, group_kind::insert, "1");
    const auto k2 = key_text(values({"2"}));
    EXPECT_EQ(place_change(groups, group_kind::remove, {}, false, k2, true), placement::join);
    EXPECT_EQ(place_change(groups, group_kind::remove, {}, false, k2, false),
              placement::send_all_first);
}

TEST(ApplyRowGrouping, AnotherMaskOrLocationSendsItsOwnRunFirst) {
    row_groups groups;
    opened(groups, group_kind::update, "1", {true, false});
    const auto k2 = key_text(values({"2"}));
    EXPECT_EQ(place_change(groups, group_kind::update, {true, false}, false, k2, true),
              placement::join);
    EXPECT_EQ(place_change(groups, group_kind::update, {false, true}, false, k2, true),
              placement::send_run_first);
    EXPECT_EQ(place_change(groups, group_kind::update, {true, false}, true, k2, true),
              placement::send_run_first);
}

TEST(ApplyRowGrouping, RowsBecomeOneArrayPerParameter) {
    row_groups groups;
    row_group& g = group_of(groups, group_kind::insert);
    open_run(g, group_kind::insert, {}, "INSERT", values({"1", "a"}), std::nullopt);
    add_row(g, values({"1", "a"}), std::nullopt, values({"1"}), key_text(values({"1"})), 0x10);
    add_row(g, values({"2", std::nullopt}), std::nullopt, values({"2"}), key_text(values({"2"})),
            0x20);
    EXPECT_EQ(g.first_params, values({"1", "a"}));
    EXPECT_EQ(g.rows->keys.size(), 2u);
    EXPECT_EQ(g.rows->commit_lsns, (std::vector<stream::lsn_t>{0x10, 0x20}));
    auto params = close_run_arrays(g);
    ASSERT_EQ(params.size(), 2u);
    EXPECT_EQ(params[0], pg::param("{\"1\",\"2\"}"));
    EXPECT_EQ(params[1], pg::param("{\"a\",NULL}"));
    EXPECT_TRUE(g.arrays.empty());
}

TEST(ApplyRowGrouping, ALocatedRunCarriesPartitionValuesAndFallbacks) {
    row_groups groups;
    row_group& g = group_of(groups, group_kind::update);
    const auto where = std::optional<pg::param_list>(values({"2024-01-05"}));
    open_run(g, group_kind::update, {true}, "UPDATE", values({"x", "1"}), where);
    EXPECT_TRUE(g.located);
    EXPECT_TRUE(g.rows->located);
    add_row(g, values({"x", "1"}), where, values({"1"}), key_text(values({"1"})), 0x10);
    EXPECT_EQ(g.rows->fallback_params, (std::vector<pg::param_list>{values({"x", "1"})}));
    auto params = close_run_arrays(g);
    ASSERT_EQ(params.size(), 3u);  // the update's two parameters, then the partition value
    EXPECT_EQ(params[2], pg::param("{\"2024-01-05\"}"));
}

TEST(ApplyRowGrouping, ARunIsFullAtItsRowOrByteCap) {
    row_groups groups;
    row_group& g = opened(groups, group_kind::insert, "1");
    EXPECT_FALSE(run_full(g, 2, 1000));
    add_row(g, values({"2"}), std::nullopt, values({"2"}), key_text(values({"2"})), 0x10);
    EXPECT_TRUE(run_full(g, 2, 1000));
    EXPECT_TRUE(run_full(g, 100, g.bytes));
    EXPECT_FALSE(run_full(g, 100, g.bytes + 1));
}
