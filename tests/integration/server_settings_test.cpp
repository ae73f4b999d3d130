// Servers that cannot host a migration: wal_level below logical, every replication slot taken.
// Each of those tests starts a second throwaway server with those settings (the shared sandbox
// must stay usable for the tests beside it), and checks that `plan` and `run` refuse with exit
// 3 and a one-line reason, and that `run` leaves nothing behind. And a database whose default
// timeouts are set for an application's short queries, which a migration must get through.
#include <gtest/gtest.h>

#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;

namespace {

#define REQUIRE_SANDBOX() \
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)"

const std::vector<std::string> by_month{"--partition-by", "range",  "--key", "ts",
                                        "--interval",     "1 month"};

void create_events(pg::connection& conn) {
    conn.exec(
        "CREATE TABLE events (id bigint PRIMARY KEY, ts timestamptz NOT NULL, note text);"
        "INSERT INTO events SELECT g, '2025-01-01'::timestamptz + g * interval '1 day', 'n' "
        "FROM generate_series(1, 90) g");
}

command_result partshift_on(const std::string& command, const std::string& dsn,
                            const temp_dir& spool) {
    std::vector<std::string> args{command, "--dsn", dsn, "--table", "events"};
    args.insert(args.end(), by_month.begin(), by_month.end());
    if (command == "run") args.insert(args.end(), {"--dry-run", "--spool-dir", spool.path()});
    return run_partshift(args);
}

void expect_refused(const command_result& r, const std::string& reason) {
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find(reason), std::string::npos) << r.err;
    EXPECT_TRUE(one_line(r.err)) << "stderr is not one line: " << r.err;
}

// What a refused run must not leave: the state schema, the target, a publication.
void expect_nothing_created(pg::connection& conn) {
    EXPECT_TRUE(conn.exec("SELECT to_regnamespace('partshift') IS NULL").get_bool(0, 0));
    EXPECT_TRUE(conn.exec("SELECT to_regclass('events_new') IS NULL").get_bool(0, 0));
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_publication").get_int(0, 0), 0);
}

}  // namespace

TEST(ServerSettings, WalLevelReplicaIsRefused) {
    REQUIRE_SANDBOX();
    extra_server server({"wal_level = replica"});
    auto conn = app_connection(server.dsn());
    create_events(conn);
    temp_dir spool;
    const std::string reason = "wal_level is replica: set wal_level = logical";
    expect_refused(partshift_on("plan", server.dsn(), spool), reason);
    expect_refused(partshift_on("run", server.dsn(), spool), reason);
    expect_nothing_created(conn);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM events").get_int(0, 0), 90);
}

TEST(ServerSettings, NoFreeReplicationSlotIsRefused) {
    REQUIRE_SANDBOX();
    extra_server server({"max_replication_slots = 1"});
    auto conn = app_connection(server.dsn());
    create_events(conn);
    conn.exec("SELECT pg_create_physical_replication_slot('someone_elses')");
    temp_dir spool;
    const std::string reason = "no free replication slot (1 of max_replication_slots = 1 in use)";
    expect_refused(partshift_on("plan", server.dsn(), spool), reason);
    expect_refused(partshift_on("run", server.dsn(), spool), reason);
    expect_nothing_created(conn);
    // The slot that was there is untouched.
    EXPECT_EQ(conn.exec("SELECT string_agg(slot_name, ',') FROM pg_replication_slots").get(0, 0),
              "someone_elses");
}

TEST(ServerSettings, DatabaseDefaultTimeoutsDoNotCutAMigrationShort) {
    REQUIRE_SANDBOX();
    test_database db;
    // One month, so one partition takes every row: its index on the wide text column is one
    // build of 300,000 200-byte keys, far longer than the defaults below.
    db.exec(
        "CREATE TABLE events (id bigint PRIMARY KEY, ts timestamptz NOT NULL, note text);"
        "INSERT INTO events SELECT g, '2025-01-01'::timestamptz + (g % 28) * interval '1 day', "
        "repeat(md5(g::text), 6) || md5((g * 7)::text) FROM generate_series(1, 300000) g;"
        "CREATE INDEX events_note ON events (note)");
    // Short enough to cancel an index build, a copy chunk or an open batch; long enough that
    // the first statement of a session (the one that lifts them) never meets them on a busy
    // machine.
    db.exec("ALTER DATABASE \"" + db.name() +
            "\" SET statement_timeout = '100ms';"
            "ALTER DATABASE \"" +
            db.name() + "\" SET idle_in_transaction_session_timeout = '100ms'");
    temp_dir spool;
    std::vector<std::string> args{"run",    "--dsn",       db.dsn(),    "--table",
                                  "events", "--spool-dir", spool.path()};
    args.insert(args.end(), by_month.begin(), by_month.end());
    auto r = run_partshift(args);
    db.exec("ALTER DATABASE \"" + db.name() + "\" RESET ALL");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto conn = db.connect();
    EXPECT_EQ(
        conn.exec("SELECT relkind::text FROM pg_class WHERE oid = 'events'::regclass").get(0, 0),
        "p");
    EXPECT_EQ(fingerprint(conn, "events"), fingerprint(conn, "events_old"));
    EXPECT_EQ(fingerprint(conn, "events").rows, 300'000);
}
