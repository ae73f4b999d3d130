// Issue 18 items 5 and 6 through the real binary: a spool root others could change is refused
// before anything is created; the reverse spool of a revert window is never deleted unless
// its marker is the reverse job's; the same job name in a database of the same name on two
// servers sharing one spool root gets two spools, and both jobs resume.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include "partshift/pg/quote.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include "partshift/state/job_store.hpp"
#include "partshift/state/revert_window.hpp"
#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr const char* small_table =
    "CREATE TABLE events (id bigint PRIMARY KEY, ts timestamptz NOT NULL, v text);"
    "INSERT INTO events SELECT g, '2025-01-01'::timestamptz + g * interval '1 hour', 'v' "
    "FROM generate_series(1, 2000) g;";

std::vector<std::string> run_args(const std::string& dsn, const std::string& spool_root,
                                  std::vector<std::string> extra) {
    std::vector<std::string> args{
        "run", "--dsn",      dsn,       "--table",   "events", "--partition-by", "range",   "--key",
        "ts",  "--interval", "1 month", "--premake", "3",      "--spool-dir",    spool_root};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::string spool_dir_of(const std::string& dsn, const std::string& job) {
    pg::connection conn(dsn, "partshift-test");
    auto row = state::load_job(conn, job);
    return row ? row->spool_dir : "";
}

}  // namespace

TEST(SpoolSafety, AWorldWritableSpoolRootIsRefusedAndNothingIsCreated) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    db.exec(small_table);
    auto conn = db.connect();
    const auto before = fingerprint(conn, "public.events");
    temp_dir base;
    const auto root = base.path() + "/spool";
    fs::create_directories(root);
    ::chmod(root.c_str(), 0777);  // no sticky bit: anyone could swap a job's spool
    auto r = run_partshift(run_args(db.dsn(), root, {"--dry-run", "--dry-run-for", "1s"}), 120s);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find("--spool-dir " + root), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("writable by others (mode 0777) and has no sticky bit"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("chmod go-w " + root), std::string::npos) << r.err;
    // Refused before the server was touched: no slot, publication, target or state schema,
    // and the source as it was.
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_replication_slots WHERE database = "
                        "current_database()")
                  .get_int(0, 0),
              0);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_publication").get_int(0, 0), 0);
    EXPECT_TRUE(conn.exec("SELECT to_regclass('events_new') IS NULL").get_bool(0, 0));
    EXPECT_TRUE(conn.exec("SELECT to_regnamespace('partshift') IS NULL").get_bool(0, 0));
    EXPECT_EQ(fingerprint(conn, "public.events"), before);
    EXPECT_TRUE(fs::is_empty(root));
}

// The revert window's spool is prepared just before the cutover. Whatever sits at its path
// without the reverse job's marker is not partshift's to delete: the cutover is refused (the
// source stays the original) and the directory stays as it was.
TEST(SpoolSafety, TheReverseSpoolIsRemovedOnlyWithItsMarker) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    db.exec(small_table);
    temp_dir spool;
    auto first =
        run_partshift(run_args(db.dsn(), spool.path(), {"--dry-run", "--dry-run-for", "1s"}), 180s);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    pg::connection conn(db.dsn(), "partshift-test");
    auto job = state::load_job(conn, "events");
    ASSERT_TRUE(job);
    const auto reverse_dir = state::reverse_job_for(*job, db.name(), "").spool_dir;
    ASSERT_FALSE(reverse_dir.empty());
    fs::create_directories(reverse_dir);
    std::ofstream(reverse_dir + "/JOB") << "partshift job someone-else slot other\n";
    std::ofstream(reverse_dir + "/precious") << "not partshift's\n";

    child_process run({PARTSHIFT_BINARY, "run", "--dsn", db.dsn(), "--table", "events",
                       "--partition-by", "range", "--key", "ts", "--interval", "1 month",
                       "--premake", "3", "--spool-dir", spool.path(), "--revert-window", "10m"},
                      spool.path() + "-run.log");
    for (int i = 0; i < 1800 && run.running() && fs::exists(reverse_dir + "/precious"); ++i)
        std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(fs::exists(reverse_dir + "/precious")) << run.log();
    auto code = run.wait(60s);
    ASSERT_TRUE(code.has_value()) << run.log();
    EXPECT_EQ(*code, 3) << run.log();
    EXPECT_NE(run.log().find("the spool directory " + reverse_dir + " is in the way"),
              std::string::npos)
        << run.log();
    EXPECT_EQ(relkind(db, "public.events"), "r") << "cut over without its revert window";
    // This database's slots only: other tests' revert windows run beside this one.
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE "
                        "'%revert%' AND database = pg_catalog.current_database()")
                  .get_int(0, 0),
              0);
}

// Two servers (the sandbox and a second one) each hold a database of the same name with the
// same table, migrated by a job of the same name from one spool root: a sharded fleet run from
// one directory. Each job gets its own spool, and each resumes and keeps up with its writes.
TEST(SpoolSafety, TheSameJobOnTwoServersSharingASpoolRootKeepsTwoSpools) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    db.exec(small_table);
    extra_server other({});
    {
        pg::connection admin(other.dsn(), "partshift-test");
        admin.exec("CREATE DATABASE " + pg::escape_identifier(db.name()));
    }
    const auto other_dsn = other.dsn(db.name());
    auto setup = run_psql(other_dsn, small_table);
    ASSERT_EQ(setup.exit_code, 0) << setup.err;
    temp_dir spool;
    const std::vector<std::string> dry{"--dry-run", "--dry-run-for", "3s"};

    auto a = run_partshift(run_args(db.dsn(), spool.path(), dry), 180s);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    auto b = run_partshift(run_args(other_dsn, spool.path(), dry), 180s);
    ASSERT_EQ(b.exit_code, 0) << b.err;
    const auto dir_a = spool_dir_of(db.dsn(), "events");
    const auto dir_b = spool_dir_of(other_dsn, "events");
    EXPECT_NE(dir_a, dir_b);
    EXPECT_TRUE(fs::exists(dir_a + "/JOB"));
    EXPECT_TRUE(fs::exists(dir_b + "/JOB"));

    // Writes on both, then both jobs resume and catch up with their own server.
    db.exec("UPDATE events SET v = 'a' WHERE id % 3 = 0; DELETE FROM events WHERE id % 7 = 0;");
    ASSERT_EQ(run_psql(other_dsn, "UPDATE events SET v = 'b' WHERE id % 5 = 0;").exit_code, 0);
    a = run_partshift(run_args(db.dsn(), spool.path(), dry), 180s);
    EXPECT_EQ(a.exit_code, 0) << a.err;
    b = run_partshift(run_args(other_dsn, spool.path(), dry), 180s);
    EXPECT_EQ(b.exit_code, 0) << b.err;
    for (const auto& dsn : {db.dsn(), other_dsn}) {
        pg::connection conn(dsn, "partshift-test");
        EXPECT_EQ(fingerprint(conn, "public.events", "id, ts, v"),
                  fingerprint(conn, "public.events_new", "id, ts, v"))
            << dsn;
    }
    // Abort on one server leaves the other's spool alone.
    auto aborted = run_partshift({"abort", "--dsn", other_dsn, "--job", "events"});
    EXPECT_EQ(aborted.exit_code, 0) << aborted.err;
    EXPECT_FALSE(fs::exists(dir_b));
    EXPECT_TRUE(fs::exists(dir_a + "/JOB"));
}
