// Unit tests for partition and index naming (no server).
#include <gtest/gtest.h>

#include "partshift/plan/partition_naming.hpp"

using namespace partshift::plan;

TEST(PlanNaming, LabelsForListValues) {
    EXPECT_EQ(label_for_value("Mathematics"), "mathematics");
    EXPECT_EQ(label_for_value("A/B  test!"), "a_b_test");
    EXPECT_EQ(label_for_value("  --  "), "v");
    EXPECT_EQ(label_for_value(""), "v");
    EXPECT_EQ(label_for_value("Zürich"), "z_rich");
    EXPECT_EQ(label_for_value("42"), "42");
}

TEST(PlanNaming, AllocatorResolvesCollisions) {
    name_allocator names;
    names.reserve("orders_new");
    EXPECT_EQ(names.take("orders_a_b"), "orders_a_b");
    EXPECT_EQ(names.take("orders_a_b"), "orders_a_b_2");
    EXPECT_EQ(names.take("orders_a_b"), "orders_a_b_3");
    EXPECT_EQ(names.take("orders_new"), "orders_new_2");
    const std::string long_name(80, 'z');
    const std::string first = names.take(long_name);
    const std::string second = names.take(long_name);
    EXPECT_NE(first, second);
    EXPECT_LE(second.size(), 63u);
}
