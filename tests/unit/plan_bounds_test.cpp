// Unit tests for intervals and partition bounds (no server).
#include <gtest/gtest.h>

#include "partshift/error.hpp"
#include "partshift/plan/bounds.hpp"
#include "partshift/plan/time_interval.hpp"

using namespace partshift::plan;
using partshift::usage_error;

namespace {

level_spec range_interval(const std::string& interval) {
    level_spec l;
    l.method = partition_method::range;
    l.key = "ts";
    l.interval = interval;
    return l;
}

level_spec range_step(const std::string& step) {
    level_spec l;
    l.method = partition_method::range;
    l.key = "id";
    l.step = step;
    return l;
}

level_facts facts(std::optional<std::string> min, std::optional<std::string> max,
                  std::string now = "2000-01-01 00:00:00+00", int premake = 0) {
    level_facts f;
    f.min = std::move(min);
    f.max = std::move(max);
    f.now = std::move(now);
    f.timezone = "Europe/Berlin";
    f.premake = premake;
    return f;
}

std::vector<std::string> labels(const std::vector<level_bound>& b) {
    std::vector<std::string> out;
    for (const auto& x : b) out.push_back(x.label);
    return out;
}

}  // namespace

TEST(PlanTimeInterval, ParsesPostgresSpellings) {
    EXPECT_EQ(parse_interval("1 month"), (time_interval{1, interval_unit::month}));
    EXPECT_EQ(parse_interval("1 mon"), (time_interval{1, interval_unit::month}));
    EXPECT_EQ(parse_interval("@ 3 mons"), (time_interval{3, interval_unit::month}));
    EXPECT_EQ(parse_interval("7 days"), (time_interval{7, interval_unit::day}));
    EXPECT_EQ(parse_interval("1 Year"), (time_interval{1, interval_unit::year}));
    EXPECT_EQ(parse_interval("2 weeks"), (time_interval{2, interval_unit::week}));
    EXPECT_EQ(parse_interval("6 hours"), (time_interval{6, interval_unit::hour}));
    EXPECT_EQ(parse_interval("quarter"), (time_interval{3, interval_unit::month}));
    EXPECT_EQ(parse_interval("day"), (time_interval{1, interval_unit::day}));
    EXPECT_THROW(parse_interval("1 mon 2 days"), usage_error);
    EXPECT_THROW(parse_interval("10 minutes"), usage_error);
    EXPECT_THROW(parse_interval("0 days"), usage_error);
    EXPECT_THROW(parse_interval(""), usage_error);
    EXPECT_THROW(parse_interval("-1 day"), usage_error);
    EXPECT_EQ(to_string(time_interval{3, interval_unit::month}), "3 months");
}

TEST(PlanBounds, MonthsCoverMinToMaxAcrossMonthEnds) {
    auto b = plan_level_bounds(range_interval("1 month"), key_type::date,
                               facts("2025-01-31", "2025-03-01"));
    EXPECT_EQ(labels(b), (std::vector<std::string>{"p2025_01", "p2025_02", "p2025_03"}));
    EXPECT_EQ(b[0].bound_sql, "FOR VALUES FROM ('2025-01-01') TO ('2025-02-01')");
    EXPECT_EQ(b[1].bound_sql, "FOR VALUES FROM ('2025-02-01') TO ('2025-03-01')");
}

TEST(PlanBounds, LeapYearAndYearBoundary) {
    auto days = plan_level_bounds(range_interval("1 day"), key_type::date,
                                  facts("2024-02-28", "2024-03-01"));
    EXPECT_EQ(labels(days),
              (std::vector<std::string>{"p2024_02_28", "p2024_02_29", "p2024_03_01"}));
    auto months = plan_level_bounds(range_interval("1 month"), key_type::date,
                                    facts("2024-12-15", "2025-01-02"));
    EXPECT_EQ(months[0].bound_sql, "FOR VALUES FROM ('2024-12-01') TO ('2025-01-01')");
    EXPECT_EQ(months[1].label, "p2025_01");
    auto years = plan_level_bounds(range_interval("1 year"), key_type::date,
                                   facts("2023-06-01", "2024-02-29"));
    EXPECT_EQ(labels(years), (std::vector<std::string>{"p2023", "p2024"}));
    EXPECT_EQ(years[1].bound_sql, "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')");
}

TEST(PlanBounds, WeeksStartOnMonday) {
    // 2025-01-15 is a Wednesday; its ISO week starts Monday 2025-01-13.
    auto b = plan_level_bounds(range_interval("1 week"), key_type::date,
                               facts("2025-01-15", "2025-01-20"));
    EXPECT_EQ(labels(b), (std::vector<std::string>{"p2025_01_13", "p2025_01_20"}));
    EXPECT_EQ(b[0].bound_sql, "FOR VALUES FROM ('2025-01-13') TO ('2025-01-20')");
    // A week across the year boundary: Monday 2024-12-30.
    auto y = plan_level_bounds(range_interval("1 week"), key_type::date,
                               facts("2025-01-01", "2025-01-01"));
    EXPECT_EQ(y[0].label, "p2024_12_30");
}

TEST(PlanBounds, QuartersAlignInsideTheYear) {
    auto b = plan_level_bounds(range_interval("3 months"), key_type::date,
                               facts("2025-02-10", "2025-08-01"));
    EXPECT_EQ(labels(b), (std::vector<std::string>{"p2025_01", "p2025_04", "p2025_07"}));
    EXPECT_EQ(b[2].bound_sql, "FOR VALUES FROM ('2025-07-01') TO ('2025-10-01')");
}

TEST(PlanBounds, RendersByColumnType) {
    auto ts = plan_level_bounds(range_interval("1 month"), key_type::timestamp,
                                facts("2025-01-14 12:34:56.123", "2025-01-20 00:00:00"));
    EXPECT_EQ(ts[0].bound_sql,
              "FOR VALUES FROM ('2025-01-01 00:00:00') TO ('2025-02-01 00:00:00')");
    auto tz = plan_level_bounds(range_interval("1 month"), key_type::timestamptz,
                                facts("2025-03-14 12:34:56.123+01", "2025-03-20 00:00:00+01"));
    EXPECT_EQ(tz[0].bound_sql,
              "FOR VALUES FROM ('2025-03-01 00:00:00 Europe/Berlin') TO ('2025-04-01 00:00:00 "
              "Europe/Berlin')");
    // The wall-clock date counts, not the UTC one: 00:30+01 on April 1 is in April.
    auto edge = plan_level_bounds(range_interval("1 month"), key_type::timestamptz,
                                  facts("2025-04-01 00:30:00+01", "2025-04-01 00:30:00+01"));
    EXPECT_EQ(edge[0].label, "p2025_04");
}

TEST(PlanBounds, HourlyTimestamptzIsPlannedInUtc) {
    auto b = plan_level_bounds(range_interval("1 hour"), key_type::timestamptz,
                               facts("2025-03-30 01:30:00+01", "2025-03-30 03:10:00+02"));
    EXPECT_EQ(labels(b), (std::vector<std::string>{"p2025_03_30_00", "p2025_03_30_01"}));
    EXPECT_EQ(b[0].bound_sql,
              "FOR VALUES FROM ('2025-03-30 00:00:00+00') TO ('2025-03-30 01:00:00+00')");
    EXPECT_THROW(plan_level_bounds(range_interval("1 hour"), key_type::date,
                                   facts("2025-01-01", "2025-01-02")),
                 usage_error);
    auto hours = plan_level_bounds(range_interval("6 hours"), key_type::timestamp,
                                   facts("2025-01-15 03:00:00", "2025-01-15 13:00:00"));
    EXPECT_EQ(labels(hours),
              (std::vector<std::string>{"p2025_01_15_00", "p2025_01_15_06", "p2025_01_15_12"}));
}

TEST(PlanBounds, PremakeCountsFromNowOrMax) {
    // now is after the data: cover up to now's partition, then 2 more.
    auto b = plan_level_bounds(range_interval("1 month"), key_type::date,
                               facts("2025-01-10", "2025-02-10", "2025-04-03 10:00:00+02", 2));
    EXPECT_EQ(labels(b), (std::vector<std::string>{"p2025_01", "p2025_02", "p2025_03", "p2025_04",
                                                   "p2025_05", "p2025_06"}));
    // Data beyond now: premake counts from the data's max.
    auto f = plan_level_bounds(range_interval("1 year"), key_type::date,
                               facts("2025-01-10", "2027-02-10", "2025-04-03 10:00:00+02", 1));
    EXPECT_EQ(labels(f), (std::vector<std::string>{"p2025", "p2026", "p2027", "p2028"}));
}

TEST(PlanBounds, EmptyTableStartsAtNow) {
    auto b = plan_level_bounds(range_interval("1 day"), key_type::timestamptz,
                               facts(std::nullopt, std::nullopt, "2025-06-15 23:59:59+02", 1));
    EXPECT_EQ(labels(b), (std::vector<std::string>{"p2025_06_15", "p2025_06_16"}));
    EXPECT_THROW(plan_level_bounds(range_interval("1 day"), key_type::date,
                                   facts(std::nullopt, std::nullopt, "")),
                 usage_error);
}

TEST(PlanBounds, RefusesUnreadableOrInfiniteValues) {
    EXPECT_THROW(plan_level_bounds(range_interval("1 day"), key_type::date,
                                   facts("-infinity", "2025-01-01")),
                 usage_error);
    EXPECT_THROW(plan_level_bounds(range_interval("1 day"), key_type::date,
                                   facts("0044-03-15 BC", "2025-01-01")),
                 usage_error);
    EXPECT_THROW(plan_level_bounds(range_interval("1 day"), key_type::date,
                                   facts("03/15/2025", "2025-01-01")),
                 usage_error);
}

TEST(PlanBounds, RefusesMoreThanTenThousandPartitions) {
    try {
        plan_level_bounds(range_interval("1 day"), key_type::date,
                          facts("1900-01-01", "2025-01-01"));
        FAIL();
    } catch (const usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("larger interval"), std::string::npos);
    }
}

TEST(PlanBounds, IntegerSteps) {
    auto b = plan_level_bounds(range_step("1000000"), key_type::int64, facts("5", "2500000"));
    EXPECT_EQ(labels(b), (std::vector<std::string>{"p0", "p1000000", "p2000000"}));
    EXPECT_EQ(b[2].bound_sql, "FOR VALUES FROM (2000000) TO (3000000)");
    auto neg = plan_level_bounds(range_step("1000"), key_type::int32, facts("-1500", "-1"));
    EXPECT_EQ(labels(neg), (std::vector<std::string>{"pm2000", "pm1000"}));
    EXPECT_EQ(neg[1].bound_sql, "FOR VALUES FROM (-1000) TO (0)");
    auto premake = plan_level_bounds(range_step("100"), key_type::int32,
                                     facts("0", "99", "2025-01-01 00:00:00+00", 2));
    EXPECT_EQ(labels(premake), (std::vector<std::string>{"p0", "p100", "p200"}));
    auto numeric = plan_level_bounds(range_step("10"), key_type::numeric, facts("-0.5", "19.99"));
    EXPECT_EQ(labels(numeric), (std::vector<std::string>{"pm10", "p0", "p10"}));
    auto empty =
        plan_level_bounds(range_step("10"), key_type::int32, facts(std::nullopt, std::nullopt));
    EXPECT_EQ(labels(empty), (std::vector<std::string>{"p0"}));
}

TEST(PlanBounds, IntegerStepsClampToTheTypeRange) {
    auto small = plan_level_bounds(range_step("20000"), key_type::int16, facts("-32768", "32767"));
    EXPECT_EQ(small.front().bound_sql, "FOR VALUES FROM (MINVALUE) TO (-20000)");
    EXPECT_EQ(small.back().bound_sql, "FOR VALUES FROM (20000) TO (MAXVALUE)");
    auto big = plan_level_bounds(
        range_step("4611686018427387904"), key_type::int64,
        facts("9223372036854775000", "9223372036854775807", "2025-01-01 00:00:00+00", 5));
    EXPECT_EQ(big.size(), 1u);
    EXPECT_EQ(big[0].bound_sql, "FOR VALUES FROM (4611686018427387904) TO (MAXVALUE)");
    EXPECT_THROW(plan_level_bounds(range_step("1000"), key_type::numeric, facts("1e5", "2")),
                 usage_error);
    EXPECT_THROW(plan_level_bounds(range_step("9223372036854775807"), key_type::numeric,
                                   facts("9223372036854775806", "9223372036854775807")),
                 usage_error);
}

TEST(PlanBounds, ListValuesAndDefault) {
    level_spec l;
    l.method = partition_method::list;
    l.key = "subject";
    auto f = facts(std::nullopt, std::nullopt);
    f.values = {"Mathematics", "it's", "a\\b"};
    f.with_default = true;
    auto b = plan_level_bounds(l, key_type::other, f);
    ASSERT_EQ(b.size(), 4u);
    EXPECT_EQ(b[0].label, "mathematics");
    EXPECT_EQ(b[0].bound_sql, "FOR VALUES IN ('Mathematics')");
    EXPECT_EQ(b[1].bound_sql, "FOR VALUES IN ('it''s')");
    EXPECT_EQ(b[2].bound_sql, "FOR VALUES IN (E'a\\\\b')");
    EXPECT_TRUE(b[3].is_default);
    EXPECT_EQ(b[3].bound_sql, "DEFAULT");
    l.values = {"x", "x"};
    EXPECT_THROW(plan_level_bounds(l, key_type::other, f), usage_error);
    l.values.clear();
    f.values.clear();
    f.with_default = false;
    EXPECT_THROW(plan_level_bounds(l, key_type::other, f), usage_error);
}

TEST(PlanBounds, HashRemaindersArePadded) {
    level_spec l;
    l.method = partition_method::hash;
    l.key = "id";
    l.modulus = 16;
    auto b = plan_level_bounds(l, key_type::int64, facts(std::nullopt, std::nullopt));
    ASSERT_EQ(b.size(), 16u);
    EXPECT_EQ(b[3].label, "h03");
    EXPECT_EQ(b[15].bound_sql, "FOR VALUES WITH (MODULUS 16, REMAINDER 15)");
    l.modulus = 8;
    EXPECT_EQ(plan_level_bounds(l, key_type::int64, facts(std::nullopt, std::nullopt))[7].label,
              "h7");
}
