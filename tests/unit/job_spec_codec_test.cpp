// Unit tests: a stored job spec reads back as the spec that was stored.
#include <gtest/gtest.h>

#include "partshift/state/job_spec_codec.hpp"

using namespace partshift;

TEST(JobSpecCodec, RoundTripsTwoLevelsAndFlags) {
    plan::partition_spec spec;
    spec.level1.method = plan::partition_method::list;
    spec.level1.key = "customer id";
    spec.level1.values = {"a", "b,c", "O'Brien"};
    plan::level_spec sub;
    sub.method = plan::partition_method::hash;
    sub.key = "id";
    sub.modulus = 8;
    spec.level2 = sub;
    spec.premake = 0;
    spec.default_partition = true;
    std::string bytes;
    ASSERT_TRUE(state::to_proto(spec).SerializeToString(&bytes));
    proto::job_spec parsed;
    ASSERT_TRUE(parsed.ParseFromString(bytes));
    auto back = state::from_proto(parsed);
    EXPECT_EQ(back.level1.key, "customer id");
    EXPECT_EQ(back.level1.values, spec.level1.values);
    ASSERT_TRUE(back.level2.has_value());
    EXPECT_EQ(back.level2->modulus, 8);
    EXPECT_EQ(back.default_partition, std::optional<bool>(true));
    // The same spec always serializes to the same bytes (used to detect a changed spec).
    std::string again;
    state::to_proto(back).SerializeToString(&again);
    EXPECT_EQ(again, bytes);
}

TEST(JobSpecCodec, RangeWithoutDefaultStaysUnset) {
    plan::partition_spec spec;
    spec.level1.key = "ts";
    spec.level1.interval = "1 month";
    spec.premake = 3;
    auto back = state::from_proto(state::to_proto(spec));
    EXPECT_EQ(back.level1.interval, std::optional<std::string>("1 month"));
    EXPECT_FALSE(back.default_partition.has_value());
    EXPECT_FALSE(back.level2.has_value());
    EXPECT_EQ(state::describe_spec(spec),
              "--partition-by range --key ts --interval '1 month' --premake 3");
}
