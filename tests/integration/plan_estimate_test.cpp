// `partshift plan` estimates (issue 21 item 8): the disk the target and each planned index
// will take and the WAL the copy will write, in the script and in --json, from a real table's
// sizes; and the warning when the partition count will hurt planning (a year of hourly
// partitions). `plan --spec` gives each table of a multi-table job the same estimate.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>

#include "plan.pb.h"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;

namespace {

command_result plan(const test_database& db, const std::string& table,
                    std::vector<std::string> options) {
    std::vector<std::string> args{"plan", "--dsn", db.dsn(), "--table", table};
    args.insert(args.end(), options.begin(), options.end());
    return run_partshift(args);
}

TEST(PlanEstimate, ScriptAndJsonShowDiskAndWalFromTheSourceSizes) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    ASSERT_TRUE(load_events_table(db, 20000));
    const std::vector<std::string> spec{"--partition-by", "range",  "--key", "ts",
                                        "--interval",     "1 month"};
    auto text = plan(db, "events", spec);
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("-- ESTIMATE: disk: ~"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("events_pkey_new ~"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("-- ESTIMATE: WAL: the copy and the index builds write ~"),
              std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("-- ESTIMATE: free space: not something SQL can tell"),
              std::string::npos)
        << text.out;
    EXPECT_EQ(text.out.find("partitions: past about"), std::string::npos) << text.out;

    auto json = plan(db, "events", [&] {
        auto o = spec;
        o.push_back("--json");
        return o;
    }());
    ASSERT_EQ(json.exit_code, 0) << json.err;
    proto::target_plan parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok()) << json.out;
    auto conn = db.connect();
    const auto sizes =
        conn.query("SELECT pg_table_size('events'), pg_relation_size('events_pkey')::bigint");
    const auto& e = parsed.estimate();
    EXPECT_EQ(e.table_bytes(), sizes.get_int(0, 0));
    ASSERT_EQ(e.indexes_size(), parsed.indexes_size());
    const int leaves = parsed.partitions_size();
    for (const auto& i : e.indexes())
        if (i.name() == "events_pkey_new")
            EXPECT_EQ(i.bytes(), sizes.get_int(0, 1) + leaves * 8192);
    EXPECT_EQ(e.total_bytes(), e.table_bytes() + e.indexes_bytes());
    EXPECT_GT(e.table_bytes(), 0);
    EXPECT_GT(e.wal_bytes(), e.total_bytes());
    EXPECT_GE(e.wal_bytes_high(), e.wal_bytes());
    EXPECT_EQ(e.lines_size(), 3);
}

TEST(PlanEstimate, AYearOfHourlyPartitionsWarns) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    db.exec(
        "CREATE TABLE readings (id bigint PRIMARY KEY, at timestamptz NOT NULL); "
        "INSERT INTO readings VALUES (1, now() - interval '365 days'), (2, now())");
    auto text =
        plan(db, "readings", {"--partition-by", "range", "--key", "at", "--interval", "1 hour"});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    const auto at = text.out.find("-- WARNING: 87");
    ASSERT_NE(at, std::string::npos) << text.out.substr(0, 3000);
    const auto line = text.out.substr(at, text.out.find('\n', at) - at);
    EXPECT_NE(line.find(" partitions: past about 1000, query planning gets slower"),
              std::string::npos)
        << line;
    EXPECT_NE(line.find("--interval '1 day' (about 36"), std::string::npos) << line;

    // The same plan by the day: no warning.
    auto daily =
        plan(db, "readings", {"--partition-by", "range", "--key", "at", "--interval", "1 day"});
    ASSERT_EQ(daily.exit_code, 0) << daily.err;
    EXPECT_EQ(daily.out.find("partitions: past about"), std::string::npos);
}

// Issue 21: `plan --spec` had the partition-count warning but no estimate. Each table of the
// job now gets the lines and the JSON object `plan --table` gives it.
TEST(PlanEstimate, EachTableOfASpecPlanHasItsEstimate) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    ASSERT_TRUE(load_events_table(db, 20000));
    db.exec(
        "CREATE TABLE notes (id bigint PRIMARY KEY, at timestamptz NOT NULL, body text); "
        "INSERT INTO notes SELECT g, now() - g * interval '1 hour', repeat('x', 100) "
        "FROM generate_series(1, 5000) g; ANALYZE notes");
    temp_dir dir;
    const auto spec = dir.path() + "/job.json";
    std::ofstream(spec) << R"({"job": "pair", "tables": [
        {"table": "events", "partition_by": "range", "key": "ts", "interval": "1 month"},
        {"table": "notes", "partition_by": "range", "key": "at", "interval": "1 month"}]})";
    auto text = run_partshift({"plan", "--dsn", db.dsn(), "--spec", spec});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    const auto notes_at = text.out.find("-- partshift plan: public.notes");
    ASSERT_NE(notes_at, std::string::npos) << text.out;
    for (const auto& [from, to, index] :
         {std::tuple{size_t{0}, notes_at, "events_pkey_new ~"},
          std::tuple{notes_at, std::string::npos, "notes_pkey_new ~"}}) {
        const auto part = text.out.substr(from, to == std::string::npos ? to : to - from);
        EXPECT_NE(part.find("-- ESTIMATE: disk: ~"), std::string::npos) << part;
        EXPECT_NE(part.find(index), std::string::npos) << part;
        EXPECT_NE(part.find("-- ESTIMATE: WAL: the copy and the index builds write ~"),
                  std::string::npos)
            << part;
    }

    auto json = run_partshift({"plan", "--dsn", db.dsn(), "--spec", spec, "--json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    proto::group_plan parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok()) << json.out;
    ASSERT_EQ(parsed.tables_size(), 2);
    auto conn = db.connect();
    for (const auto& t : parsed.tables()) {
        const auto& e = t.estimate();
        EXPECT_EQ(e.table_bytes(),
                  conn.query("SELECT pg_table_size($1::regclass)", t.source().name()).get_int(0, 0))
            << t.source().name();
        EXPECT_EQ(e.indexes_size(), t.indexes_size());
        EXPECT_GT(e.wal_bytes(), e.total_bytes());
        EXPECT_EQ(e.lines_size(), 3);
    }
}

}  // namespace
