// Unit tests for catalog::describe_tree_change (no server): attached, detached and re-attached
// partitions are told apart and named; an unchanged tree is no change.
#include <gtest/gtest.h>

#include "partshift/catalog/partition_tree.hpp"

using namespace partshift::catalog;

namespace {

partition_member member(uint32_t oid, std::string name, std::string bound) {
    partition_member m;
    m.oid = oid;
    m.name = {"public", std::move(name)};
    m.parent_oid = 100;
    m.bound = std::move(bound);
    m.bound_id = "md5 of " + m.bound;
    return m;
}

std::vector<recorded_member> record(const std::vector<partition_member>& tree) {
    std::vector<recorded_member> out;
    for (const auto& m : tree) out.emplace_back(m.oid, member_text(m));
    return out;
}

bool contains(const std::optional<std::string>& text, const std::string& needle) {
    return text && text->find(needle) != std::string::npos;
}

}  // namespace

TEST(CatalogPartitionTree, UnchangedTreeIsNoChange) {
    const std::vector<partition_member> tree = {
        member(101, "events_p2026_01", "FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')"),
        member(102, "events_default", "DEFAULT")};
    EXPECT_EQ(describe_tree_change(record(tree), tree, "public.events"), std::nullopt);
    EXPECT_EQ(describe_tree_change({}, {}, "public.events"), std::nullopt);
}

TEST(CatalogPartitionTree, NamesAttachedDetachedAndReattachedPartitions) {
    const auto jan =
        member(101, "events_p2026_01", "FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')");
    const auto def = member(102, "events_default", "DEFAULT");
    const auto before = record({jan, def});

    auto attached = describe_tree_change(
        before, {jan, def, member(103, "events_p2026_02", "FOR VALUES FROM (1) TO (2)")},
        "public.events");
    EXPECT_TRUE(contains(attached,
                         "partition public.events_p2026_02 was attached to "
                         "public.events during the job"))
        << attached.value_or("");
    EXPECT_TRUE(contains(attached, "partshift abort")) << attached.value_or("");

    auto detached = describe_tree_change(before, {jan}, "public.events");
    EXPECT_TRUE(contains(detached,
                         "partition public.events_default was detached from "
                         "public.events"))
        << detached.value_or("");

    auto moved = jan;
    moved.bound = "FOR VALUES FROM ('2026-01-01') TO ('2026-03-01')";
    moved.bound_id = "another md5";
    auto reattached = describe_tree_change(before, {moved, def}, "public.events");
    EXPECT_TRUE(contains(reattached, "partition public.events_p2026_01 of public.events changed"))
        << reattached.value_or("");

    auto pending = def;
    pending.detach_pending = true;
    EXPECT_TRUE(contains(describe_tree_change(before, {jan, pending}, "public.events"),
                         "(being detached)"));
}

// A change an earlier run recorded keeps the job stopped, even once the tree looks as before.
TEST(CatalogPartitionTree, RecordedChangeStaysAChange) {
    const std::vector<partition_member> tree = {member(102, "events_default", "DEFAULT")};
    auto recorded = record(tree);
    recorded.emplace_back(changed_marker_oid, "partition public.x was attached");
    auto change = describe_tree_change(recorded, tree, "public.events");
    EXPECT_TRUE(contains(change,
                         "the partitions of public.events changed during the job "
                         "(partition public.x was attached)"))
        << change.value_or("");
}
