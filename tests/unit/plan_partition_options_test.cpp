// Unit tests for PARTITION-OPTIONS parsing into a partition_spec (no server).
#include <gtest/gtest.h>

#include <boost/program_options.hpp>

#include "partshift/cli/partition_options.hpp"
#include "partshift/error.hpp"

namespace po = boost::program_options;
using partshift::usage_error;
using partshift::cli::partition_options_description;
using partshift::cli::partition_spec_from;
using partshift::plan::partition_method;
using partshift::plan::partition_spec;

namespace {

partition_spec parse(std::vector<std::string> args) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(partition_options_description()).run(), vm);
    po::notify(vm);
    return partition_spec_from(vm);
}

// expect_usage_error checks the call fails with exit code 2 and a message mentioning `needle`.
void expect_usage_error(std::vector<std::string> args, const std::string& needle) {
    try {
        parse(args);
        FAIL() << "no error for: " << needle;
    } catch (const usage_error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        EXPECT_EQ(e.code(), partshift::exit_code::bad_input);
    }
}

}  // namespace

TEST(PlanPartitionOptions, ParsesRangeInterval) {
    auto spec = parse({"--partition-by", "range", "--key", "created_at", "--interval", "1 month",
                       "--premake", "3"});
    EXPECT_EQ(spec.level1.method, partition_method::range);
    EXPECT_EQ(spec.level1.key, "created_at");
    EXPECT_EQ(spec.level1.interval, "1 month");
    EXPECT_FALSE(spec.level1.step);
    EXPECT_EQ(spec.premake, 3);
    EXPECT_FALSE(spec.default_partition.has_value());
    EXPECT_FALSE(spec.level2);
}

TEST(PlanPartitionOptions, ParsesListValuesTrimmed) {
    auto spec = parse({"--partition-by", "list", "--key", "region", "--values", "eu, us ,apac",
                       "--no-default-partition"});
    EXPECT_EQ(spec.level1.values, (std::vector<std::string>{"eu", "us", "apac"}));
    EXPECT_EQ(spec.default_partition, false);
}

TEST(PlanPartitionOptions, ParsesTwoLevels) {
    auto spec = parse({"--partition-by", "list", "--key", "tenant", "--subpartition-by", "hash",
                       "--subkey", "id", "--submodulus", "8", "--default-partition"});
    ASSERT_TRUE(spec.level2);
    EXPECT_EQ(spec.level2->method, partition_method::hash);
    EXPECT_EQ(spec.level2->key, "id");
    EXPECT_EQ(spec.level2->modulus, 8);
    EXPECT_EQ(spec.default_partition, true);
    auto range = parse({"--partition-by", "range", "--key", "id", "--step", "1000",
                        "--subpartition-by", "range", "--subkey", "ts", "--subinterval", "1 day"});
    EXPECT_EQ(range.level1.step, "1000");
    EXPECT_EQ(range.level2->interval, "1 day");
}

TEST(PlanPartitionOptions, RejectsBadInput) {
    expect_usage_error({"--key", "id"}, "--partition-by");
    expect_usage_error({"--partition-by", "range", "--interval", "1 month"}, "--key");
    expect_usage_error({"--partition-by", "ranges", "--key", "id"}, "unknown partitioning method");
    expect_usage_error({"--partition-by", "hash", "--key", "id", "--modulus", "0"}, "--modulus");
    expect_usage_error({"--partition-by", "hash", "--key", "id", "--modulus", "-4"}, "--modulus");
    expect_usage_error({"--partition-by", "hash", "--key", "id", "--modulus", "x"}, "--modulus");
    expect_usage_error({"--partition-by", "hash", "--key", "id"}, "--modulus");
    expect_usage_error({"--partition-by", "list", "--key", "id", "--interval", "1 day"},
                       "--interval does not apply to list");
    expect_usage_error(
        {"--partition-by", "hash", "--key", "id", "--modulus", "4", "--interval", "1 day"},
        "--interval does not apply to hash");
    expect_usage_error(
        {"--partition-by", "range", "--key", "id", "--interval", "1 day", "--step", "10"},
        "mutually exclusive");
    expect_usage_error({"--partition-by", "range", "--key", "id"}, "--interval");
    expect_usage_error({"--partition-by", "range", "--key", "id", "--values", "a,b"},
                       "--values does not apply to range");
    expect_usage_error({"--partition-by", "range", "--key", "id", "--step", "-5"}, "--step");
    expect_usage_error({"--partition-by", "range", "--key", "id", "--step", "0"}, "--step");
    expect_usage_error(
        {"--partition-by", "list", "--key", "a", "--subpartition-by", "hash", "--submodulus", "4"},
        "--subkey");
    expect_usage_error({"--partition-by", "list", "--key", "a", "--subkey", "b"},
                       "needs --subpartition-by");
    expect_usage_error({"--partition-by", "hash", "--key", "a", "--modulus", "4",
                        "--subpartition-by", "hash", "--subkey", "a", "--submodulus", "4"},
                       "same as --key");
    expect_usage_error(
        {"--partition-by", "range", "--key", "ts", "--interval", "1 day", "--premake", "-1"},
        "--premake");
    expect_usage_error(
        {"--partition-by", "list", "--key", "a", "--default-partition", "--no-default-partition"},
        "mutually exclusive");
    expect_usage_error(
        {"--partition-by", "hash", "--key", "a", "--modulus", "4", "--default-partition"},
        "no default partition");
    expect_usage_error({"--partition-by", "list", "--key", "a", "--values", "a,,b"}, "empty item");
    expect_usage_error({"--partition-by", "hash", "--key", "a", "--modulus", "4", "--premake", "2"},
                       "--premake only applies to range");
}

// Issue 20 item 9: a RANGE level without --premake gets pg_partman's default premake (4), so
// the new table does not run out of partitions within the first interval; --premake 0 is still
// honoured, and other methods get none. Failed before: premake defaulted to 0.
TEST(PlanPartitionOptions, RangeDefaultsToPremakeFour) {
    EXPECT_EQ(parse({"--partition-by", "range", "--key", "ts", "--interval", "1 month"}).premake,
              4);
    EXPECT_EQ(parse({"--partition-by", "range", "--key", "id", "--step", "1000"}).premake, 4);
    EXPECT_EQ(parse({"--partition-by", "list", "--key", "r", "--subpartition-by", "range",
                     "--subkey", "ts", "--subinterval", "1 day"})
                  .premake,
              4);
    EXPECT_EQ(
        parse({"--partition-by", "range", "--key", "ts", "--interval", "1 month", "--premake", "0"})
            .premake,
        0);
    EXPECT_EQ(parse({"--partition-by", "hash", "--key", "id", "--modulus", "4"}).premake, 0);
}
