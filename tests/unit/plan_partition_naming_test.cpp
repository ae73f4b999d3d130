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

TEST(PlanNaming, ShortNamesAreKept) {
    EXPECT_EQ(fit_identifier("orders_p2025_01"), "orders_p2025_01");
    EXPECT_EQ(fit_identifier(std::string(63, 'a')), std::string(63, 'a'));
}

TEST(PlanNaming, LongNamesAreCutWithAStableHash) {
    const std::string a = std::string(70, 'x').replace(66, 4, "p_01");
    const std::string b = std::string(70, 'x').replace(66, 4, "p_02");
    const std::string fa = fit_identifier(a);
    EXPECT_EQ(fa.size(), 63u);
    EXPECT_EQ(fa, fit_identifier(a));
    EXPECT_NE(fa, fit_identifier(b));
    // Multibyte characters are never cut in half.
    const std::string_view umlauts = "ääääääääääääääääääääääääääääääääääääääää";  // 40 × 2 bytes
    const std::string fu = fit_identifier(umlauts);
    EXPECT_LE(fu.size(), 63u);
    EXPECT_EQ(fu.substr(0, 54).size() % 2, 0u);
    EXPECT_EQ(fu.find("ä_"), fu.size() - 11);
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
