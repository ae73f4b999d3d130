// The origin filter (PostgreSQL 16+, stream/origin_filter.hpp), through the real binary: the
// copy's and the applier's rows carry the job's replication origins and the slot, read with
// origin 'none', never decodes them (pg_stat_replication_slots against --no-origin-filter);
// the data still converges and cuts over under a pgbench load; a foreign origin at the start
// leaves the stream unfiltered with one line saying why, one appearing mid-job stops it
// (exit 1, naming it); the job's origins go with the job (done, abort, after kill -9 and a
// resume), and a starting job drops the origins of slots that are gone. Skipped below 16, where
// status says the filter is off and why. Tests that create a foreign origin run on a server of
// their own: origins are cluster-wide, and one would stop every filtered job of the shared sandbox.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "partshift/pg/pg_error.hpp"
#include "status.pb.h"
#include "support/job_driver.hpp"
#include "support/ledger_load.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

int server_version(const std::string& dsn) {
    return app_connection(dsn).server_version();
}

class OriginFilter : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        const int version = server_version(sandbox_dsn("postgres"));
        if (version < 160000)
            GTEST_SKIP() << "needs PostgreSQL 16+ (pgoutput's origin option); the sandbox runs "
                         << version / 10000;
    }

    std::vector<std::string> run_args(const std::string& dsn, std::vector<std::string> extra) {
        std::vector<std::string> args{PARTSHIFT_BINARY, "run",    "--dsn",          dsn,
                                      "--table",        "events", "--partition-by", "range",
                                      "--key",          "ts",     "--interval",     "1 month",
                                      "--premake",      "3",      "--spool-dir",    spool_.path()};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    std::unique_ptr<child_process> start_run(const std::string& dsn,
                                             std::vector<std::string> extra = {},
                                             std::vector<std::string> env = {}) {
        return start_with_env(env, run_args(dsn, std::move(extra)),
                              spool_.path() + "-run" + std::to_string(++runs_) + ".log");
    }

    // job_origins: how many origins named after the job's slot exist (the cluster's origins
    // of other tests' jobs are theirs).
    static int64_t job_origins(const std::string& dsn, const std::string& slot) {
        return app_connection(dsn)
            .query("SELECT count(*) FROM pg_replication_origin WHERE starts_with(roname, $1)",
                   slot + "_")
            .get_int(0, 0);
    }

    // origin_held: whether a session holds the origin (pg_replication_origin_status does not
    // say): setting it up here fails with 55006 then; otherwise it is let go at once.
    static bool origin_held(const std::string& dsn, const std::string& name) {
        auto conn = app_connection(dsn);
        try {
            conn.query("SELECT pg_replication_origin_session_setup($1)", name);
            conn.exec("SELECT pg_replication_origin_session_reset()");
            return false;
        } catch (const pg::pg_error& e) {
            return e.sqlstate() == "55006";
        }
    }

    // decoded_bytes: what the slot's walsender handed to pgoutput (transactions it decoded).
    static int64_t decoded_bytes(const std::string& dsn, const std::string& slot) {
        return app_connection(dsn)
            .query(
                "SELECT coalesce((SELECT total_bytes + spill_bytes FROM "
                "pg_stat_replication_slots WHERE slot_name = $1), -1)",
                slot)
            .get_int(0, 0);
    }

    temp_dir spool_;
    int runs_ = 0;
};

}  // namespace

// The same 60k-row copy twice, filtered and with --no-origin-filter: the filtered slot decodes
// a small fraction of what the unfiltered one does; the filtered job then follows a pgbench
// load, checks every key range (--verify) and cuts over with every committed write in place
// exactly once; its origins (copy workers', applier's) are gone with the job.
TEST_F(OriginFilter, TheSlotSkipsPartshiftsOwnWritesAndTheDataStillConverges) {
    test_database db;
    test_database plain(db.name() + "_nf");
    ASSERT_TRUE(load_events_table(db, 60000));
    ASSERT_TRUE(load_events_table(plain, 60000));
    create_ledger(db);

    auto filtered = start_run(db.dsn(), {"--dry-run", "--copy-workers", "2"});
    auto s = wait_caught_up(db.dsn(), "events", filtered.get());
    EXPECT_EQ(s.origin_filter(), "on");
    const auto slot = s.slot_name();
    // Up to two copy workers and the applier, each with its own origin.
    EXPECT_GE(job_origins(db.dsn(), slot), 2);
    EXPECT_LE(job_origins(db.dsn(), slot), 3);
    const auto filtered_bytes = decoded_bytes(db.dsn(), slot);
    stop_run(*filtered);
    EXPECT_NE(filtered->log().find("origin filter on"), std::string::npos) << filtered->log();

    auto unfiltered = start_run(plain.dsn(), {"--dry-run", "--no-origin-filter"});
    auto u = wait_caught_up(plain.dsn(), "events", unfiltered.get());
    EXPECT_EQ(u.origin_filter(), "off: --no-origin-filter was given");
    EXPECT_EQ(job_origins(plain.dsn(), u.slot_name()), 0);
    const auto unfiltered_bytes = decoded_bytes(plain.dsn(), u.slot_name());
    stop_run(*unfiltered);
    // Resumed without the flag, the job keeps the choice it started with: nothing turns the
    // filter on later.
    auto resumed = start_run(plain.dsn(), {"--dry-run"});
    EXPECT_EQ(wait_caught_up(plain.dsn(), "events", resumed.get()).origin_filter(),
              "off: --no-origin-filter was given");
    EXPECT_EQ(job_origins(plain.dsn(), u.slot_name()), 0);
    stop_run(*resumed);
    EXPECT_EQ(run_partshift({"abort", "--dsn", plain.dsn(), "--job", "events"}).exit_code, 0);

    // The unfiltered slot decoded the copy's 60k rows (tens of MB); the filtered one next to
    // nothing (the copy's rows and the applier's never reach the reorder buffer; its status
    // and checkpoint writes do, as before).
    EXPECT_GT(unfiltered_bytes, 5'000'000) << "filtered " << filtered_bytes;
    EXPECT_GE(filtered_bytes, 0);
    EXPECT_LT(filtered_bytes * 20, unfiltered_bytes)
        << "filtered " << filtered_bytes << ", unfiltered " << unfiltered_bytes;

    // Resumed under load, verified and cut over: every committed write is there once.
    auto load = start_ledger_load(db, "prepared", 30, spool_.path() + "-pgbench.log");
    auto run = start_run(db.dsn(), {"--max-lag", "2s", "--verify"});
    auto code = run->wait(400s);
    ASSERT_TRUE(code.has_value()) << run->log();
    ASSERT_EQ(*code, 0) << run->log();
    expect_pgbench_clean(*load);
    EXPECT_EQ(relkind(db, "public.events"), "p");
    expect_ledger_holds(db);
    EXPECT_EQ(job_origins(db.dsn(), slot), 0);
}

// kill -9 while following: the origins the dead run held are taken again by the resumed run
// (none added); --no-origin-filter on a later run turns the filter off; `abort` drops the
// origins with the slot.
TEST_F(OriginFilter, AKilledRunsOriginsAreReusedAndAbortDropsThem) {
    test_database db;
    ASSERT_TRUE(load_events_table(db, 20000));
    auto run = start_run(db.dsn(), {"--dry-run"});
    auto s = wait_caught_up(db.dsn(), "events", run.get());
    const auto slot = s.slot_name();
    const auto origins = job_origins(db.dsn(), slot);
    EXPECT_GE(origins, 2);  // the applier's and at least one copy worker's
    run->signal(SIGKILL);
    ASSERT_TRUE(run->wait(30s).has_value());

    auto again = start_run(db.dsn(), {"--dry-run"});
    wait_caught_up(db.dsn(), "events", again.get());
    EXPECT_EQ(job_origins(db.dsn(), slot), origins);
    // The apply session holds its origin again (a session of the resumed run).
    EXPECT_TRUE(origin_held(db.dsn(), slot + "_a1"));
    EXPECT_EQ(again->log().find("could not set replication origin"), std::string::npos)
        << again->log();
    again->signal(SIGKILL);
    ASSERT_TRUE(again->wait(30s).has_value());

    // --no-origin-filter on a resumed run turns the filter off (and it stays off).
    auto unfiltered = start_run(db.dsn(), {"--dry-run", "--no-origin-filter"});
    EXPECT_EQ(wait_caught_up(db.dsn(), "events", unfiltered.get()).origin_filter(),
              "off: turned off by --no-origin-filter on a resumed run");
    EXPECT_FALSE(origin_held(db.dsn(), slot + "_a1"));
    stop_run(*unfiltered);

    auto abort = run_partshift({"abort", "--dsn", db.dsn(), "--job", "events"});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;
    EXPECT_EQ(job_origins(db.dsn(), slot), 0);
}

// On a server of its own: a foreign origin (a subscriber's) created mid-job stops the filtered
// job with exit 1 and one line naming it; one created after the run's last look is caught by
// the cutover under its lock (no swap); a job started while it exists runs unfiltered and says
// why, in its log and in status.
TEST_F(OriginFilter, AForeignOriginStopsAFilteredJobAndLeavesANewOneUnfiltered) {
    extra_server server({});
    const auto dsn = server.dsn();
    // One statement each: several in one string run as one transaction.
    for (const char* name : {"one", "two", "three"})
        app_connection(dsn).exec(std::string("CREATE DATABASE ") + name);
    const auto one = server.dsn("one");
    const auto two = server.dsn("two");
    const auto three = server.dsn("three");
    for (const auto& d : {one, two, three}) {
        auto r = run_psql(d,
                          "CREATE TABLE events (id bigint PRIMARY KEY, ts timestamptz NOT "
                          "NULL, note text); INSERT INTO events SELECT g, '2026-01-01'::"
                          "timestamptz + g * interval '1 hour', md5(g::text) FROM "
                          "generate_series(1, 5000) g;");
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }

    auto run = start_run(one, {"--dry-run"});
    auto s = wait_caught_up(one, "events", run.get());
    EXPECT_EQ(s.origin_filter(), "on");
    app_connection(dsn).exec("SELECT pg_replication_origin_create('subscriber_16999')");
    auto code = run->wait(60s);
    ASSERT_TRUE(code.has_value()) << run->log();
    EXPECT_EQ(*code, 1) << run->log();
    EXPECT_NE(
        run->log().find("replication origin subscriber_16999 appeared while job events filters "
                        "its stream by origin"),
        std::string::npos)
        << run->log();
    EXPECT_NE(run->log().find("--no-origin-filter"), std::string::npos) << run->log();
    // Status keeps why it stopped.
    auto stopped = job_status(one, "events");
    ASSERT_TRUE(stopped.has_value());
    EXPECT_NE(stopped->last_error().find("subscriber_16999"), std::string::npos);

    // One that appears after the run's last look: the cutover's check under its lock refuses
    // the swap (the run's own check is slowed down here), the source untouched.
    app_connection(dsn).exec("SELECT pg_replication_origin_drop('subscriber_16999')");
    auto late = start_run(three, {"--postpone-cutover"}, {"PARTSHIFT_TEST_ORIGIN_CHECK_MS=600000"});
    EXPECT_EQ(wait_caught_up(three, "events", late.get()).origin_filter(), "on");
    app_connection(dsn).exec("SELECT pg_replication_origin_create('subscriber_16999')");
    auto cut = run_partshift({"cutover", "--dsn", three, "--job", "events"}, 120s);
    EXPECT_NE(cut.exit_code, 0) << cut.out << cut.err;
    code = late->wait(60s);
    ASSERT_TRUE(code.has_value()) << late->log();
    EXPECT_EQ(*code, 1) << late->log();
    EXPECT_NE(late->log().find("replication origin subscriber_16999 appeared"), std::string::npos)
        << late->log();
    EXPECT_EQ(app_connection(three)
                  .exec("SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass")
                  .get(0, 0),
              "r");

    // A new job while the foreign origin exists: unfiltered, and says so.
    auto other = start_run(two, {"--dry-run"});
    auto t = wait_caught_up(two, "events", other.get());
    EXPECT_EQ(t.origin_filter().rfind("off: the cluster has replication origins that are not "
                                      "partshift's (subscriber_16999)",
                                      0),
              0u)
        << t.origin_filter();
    EXPECT_NE(other->log().find("origin filter off (the cluster has replication origins"),
              std::string::npos)
        << other->log();
    auto text = run_partshift({"status", "--dsn", two, "--job", "events"});
    EXPECT_NE(text.out.find("origin filter off (the cluster has replication origins"),
              std::string::npos)
        << text.out;
    EXPECT_EQ(job_origins(two, t.slot_name()), 0);
    stop_run(*other);

    // All aborted: no origin of partshift's is left in the cluster.
    for (const auto& d : {one, two, three})
        EXPECT_EQ(run_partshift({"abort", "--dsn", d, "--job", "events"}).exit_code, 0) << d;
    EXPECT_EQ(app_connection(dsn)
                  .exec("SELECT count(*) FROM pg_replication_origin WHERE roname LIKE "
                        "'partshift%'")
                  .get_int(0, 0),
              0);
}

// Origins a job left behind without its slot (its database dropped, a slot dropped by hand)
// each hold one of the server's capped replication states: a job that starts drops them, but
// never one in use, and never a live job's.
TEST_F(OriginFilter, AStartingJobDropsOriginsWhoseSlotIsGone) {
    test_database db;
    ASSERT_TRUE(load_events_table(db, 5000));
    // Named after this test's database: other tests' jobs may start beside this one.
    const std::string orphan = "partshift_" + db.name() + "_gone_a1";
    const std::string held = "partshift_" + db.name() + "_held_a1";
    auto holder = app_connection(db.dsn());
    holder.query("SELECT pg_replication_origin_create($1)", orphan);
    holder.query("SELECT pg_replication_origin_create($1)", held);
    holder.query("SELECT pg_replication_origin_session_setup($1)", held);
    const auto count = [&](const std::string& name) {
        return app_connection(db.dsn())
            .query("SELECT count(*) FROM pg_replication_origin WHERE roname = $1", name)
            .get_int(0, 0);
    };

    auto run = start_run(db.dsn(), {"--dry-run"});
    auto s = wait_caught_up(db.dsn(), "events", run.get());
    EXPECT_EQ(count(orphan), 0) << run->log();
    EXPECT_EQ(count(held), 1) << run->log();
    EXPECT_GE(job_origins(db.dsn(), s.slot_name()), 2) << run->log();
    EXPECT_EQ(s.origin_filter(), "on") << run->log();
    stop_run(*run);

    holder.exec("SELECT pg_replication_origin_session_reset()");
    holder.query("SELECT pg_replication_origin_drop($1)", held);
    auto abort = run_partshift({"abort", "--dsn", db.dsn(), "--job", "events"});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;
}
