// Invariant 7 through the whole engine: a table whose schema, name and columns need quoting
// (mixed case, spaces, embedded double quotes, reserved words), and values with quotes and
// backslashes, copied and followed by the real binary. Any identifier that reached SQL
// unquoted, or any value that was spliced into SQL, would fail the run or the comparison.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "status.pb.h"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

const std::string source = R"("Sales Dept"."Order ""Items"" 2024")";
const std::string job = R"(Order "Items" 2024)";

std::optional<proto::status_report> status_of(const test_database& db) {
    auto r = run_partshift({"status", "--dsn", db.dsn(), "--job", job, "--json"});
    if (r.exit_code != 0) return std::nullopt;
    proto::status_report report;
    if (!google::protobuf::util::JsonStringToMessage(r.out, &report).ok()) return std::nullopt;
    return report;
}

bool wait_for_follow_at_lag_zero(const test_database& db, child_process& run) {
    int zero_in_a_row = 0;
    for (int i = 0; i < 1200 && run.running(); ++i) {
        auto s = status_of(db);
        zero_in_a_row = s && s->phase() == "follow" && s->lag_bytes() == 0 ? zero_in_a_row + 1 : 0;
        if (zero_in_a_row >= 5) return true;
        std::this_thread::sleep_for(200ms);
    }
    return false;
}

}  // namespace

TEST(RunOddNames, QuotedSchemaTableAndColumnsCopyAndFollow) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    db.exec(R"sql(
        CREATE SCHEMA "Sales Dept";
        CREATE TABLE "Sales Dept"."Order ""Items"" 2024" (
            "order" bigint PRIMARY KEY,
            "Select" timestamptz NOT NULL,
            "user name" text,
            "group" int NOT NULL DEFAULT 0);
        CREATE INDEX "by ""group""" ON "Sales Dept"."Order ""Items"" 2024" ("group", "user name");
        INSERT INTO "Sales Dept"."Order ""Items"" 2024"
        SELECT g, '2025-01-01'::timestamptz + g * interval '37 minutes',
               CASE g % 3 WHEN 0 THEN 'it''s' WHEN 1 THEN 'say "hi" \ bye' ELSE NULL END,
               g % 7
        FROM generate_series(1, 20000) g;
    )sql");
    temp_dir spool;
    child_process run({PARTSHIFT_BINARY, "run", "--dsn", db.dsn(), "--table", source,
                       "--partition-by", "range", "--key", "Select", "--interval", "1 week",
                       "--premake", "8", "--spool-dir", spool.path(), "--dry-run"},
                      spool.path() + "-run.log");
    // Changes while the copy and the stream run, and more once following: inserts, updates
    // that move rows between partitions, primary-key changes, deletes.
    db.exec(R"sql(
        UPDATE "Sales Dept"."Order ""Items"" 2024" SET "user name" = 'o''neil\n'
            WHERE "order" % 5 = 0;
        UPDATE "Sales Dept"."Order ""Items"" 2024" SET "Select" = "Select" + interval '3 weeks'
            WHERE "order" % 11 = 0;
        DELETE FROM "Sales Dept"."Order ""Items"" 2024" WHERE "order" % 13 = 0;
    )sql");
    for (int i = 0; i < 600 && run.running(); ++i) {
        auto s = status_of(db);
        if (s && s->phase() == "follow") break;
        std::this_thread::sleep_for(200ms);
    }
    db.exec(R"sql(
        INSERT INTO "Sales Dept"."Order ""Items"" 2024" ("order", "Select", "user name")
        SELECT g, '2025-02-01'::timestamptz + g * interval '1 minute', E'tab\there'
        FROM generate_series(30001, 31000) g;
        UPDATE "Sales Dept"."Order ""Items"" 2024" SET "order" = "order" + 100000
            WHERE "order" % 17 = 0;
        UPDATE "Sales Dept"."Order ""Items"" 2024"
            SET "group" = -1, "Select" = "Select" + interval '2 weeks' WHERE "order" % 19 = 0;
    )sql");
    ASSERT_TRUE(wait_for_follow_at_lag_zero(db, run)) << run.log();
    run.signal(SIGTERM);
    ASSERT_EQ(run.wait(60s).value_or(-1), 0) << run.log();

    auto conn = db.connect();
    const auto expected = fingerprint(conn, source);
    EXPECT_GT(expected.rows, 19000);
    EXPECT_EQ(fingerprint(conn, R"("Sales Dept"."Order ""Items"" 2024_new")"), expected);
    // The index came along, on the partitioned table, under the quoted name the plan gave it.
    EXPECT_EQ(
        conn.exec(R"(SELECT count(*) FROM pg_indexes WHERE schemaname = 'Sales Dept' )"
                  R"(AND tablename = 'Order "Items" 2024_new' AND indexname = 'by "group"_new')")
            .get_int(0, 0),
        1);

    auto abort = run_partshift({"abort", "--dsn", db.dsn(), "--job", job});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;
    EXPECT_EQ(fingerprint(conn, source), expected);
}
