// --partman without a server: which specs pg_partman can maintain, the preflight verdicts and
// their fixes, and create_parent's syntax per major version.
#include <gtest/gtest.h>

#include "partshift/error.hpp"
#include "partshift/partman/partman_handoff.hpp"

using namespace partshift;
using namespace partshift::partman;

namespace {

plan::partition_spec monthly() {
    plan::partition_spec spec;
    spec.level1.method = plan::partition_method::range;
    spec.level1.key = "ts";
    spec.level1.interval = "1 month";
    spec.premake = 3;
    return spec;
}

TEST(PartmanHandoff, OnlyOneRangeLevelWithoutADefaultPartition) {
    EXPECT_NO_THROW(check_spec_for_partman(monthly()));
    auto list = monthly();
    list.level1.method = plan::partition_method::list;
    EXPECT_THROW(check_spec_for_partman(list), usage_error);
    auto two = monthly();
    two.level2 = plan::level_spec{};
    EXPECT_THROW(check_spec_for_partman(two), usage_error);
    auto with_default = monthly();
    with_default.default_partition = true;
    EXPECT_THROW(check_spec_for_partman(with_default), usage_error);
}

TEST(PartmanHandoff, PreflightNamesTheFix) {
    auto missing = partman_preflight(std::nullopt, "public", "events");
    EXPECT_FALSE(missing.ok);
    EXPECT_TRUE(missing.fatal);
    EXPECT_NE(missing.message.find("CREATE EXTENSION pg_partman"), std::string::npos);
    EXPECT_NE(missing.message.find("postgresql-15-partman"), std::string::npos);
    EXPECT_TRUE(partman_preflight(partman_install{"4.7.2", "partman"}, "public", "events").ok);
    EXPECT_TRUE(partman_preflight(partman_install{"5.1.0", "partman"}, "public", "events").ok);
    EXPECT_FALSE(partman_preflight(partman_install{"3.2.0", "partman"}, "public", "events").ok);
    EXPECT_FALSE(partman_preflight(partman_install{"4.7.2", "partman"}, "public", "ev.ents").ok);
}

TEST(PartmanHandoff, CreateParentSyntaxPerVersion) {
    const auto v4 = create_parent_call(partman_install{"4.7.2", "partman"});
    EXPECT_EQ(v4.rfind("SELECT partman.create_parent(", 0), 0u) << v4;
    EXPECT_NE(v4.find("p_type := 'native'"), std::string::npos) << v4;
    const auto v5 = create_parent_call(partman_install{"5.0.1", "Part Man"});
    EXPECT_NE(v5.find("\"Part Man\".create_parent("), std::string::npos) << v5;
    EXPECT_NE(v5.find("p_type := 'range'"), std::string::npos) << v5;
    EXPECT_EQ(v5.find("native"), std::string::npos) << v5;
}

TEST(PartmanHandoff, IntervalAndPremake) {
    auto spec = monthly();
    EXPECT_EQ(partman_interval(spec), "1 month");
    EXPECT_EQ(partman_premake(spec), 3);
    spec.level1.interval.reset();
    spec.level1.step = "100000";
    spec.premake = 0;
    EXPECT_EQ(partman_interval(spec), "100000");
    EXPECT_EQ(partman_premake(spec), 4);  // partman's own default
}

}  // namespace
