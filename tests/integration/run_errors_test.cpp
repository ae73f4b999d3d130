// partshift run on bad input or an unready server: a one-line reason, the documented exit code,
// and nothing left behind on the source's database.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>
#include <sstream>

#include "support/job_driver.hpp"
#include "support/sandbox.hpp"

#include "partshift/pg/quote.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

class RunErrors : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        db_->exec(
            "CREATE TABLE orders (id bigint PRIMARY KEY, ts timestamptz NOT NULL, v text);"
            "INSERT INTO orders SELECT g, now() - g * interval '1 hour', 'v' FROM "
            "generate_series(1, 1000) g;"
            "CREATE TABLE nokey (id bigint, ts timestamptz NOT NULL);");
    }

    command_result run(std::vector<std::string> extra) {
        std::vector<std::string> args{"run",     "--dsn",       db_->dsn(),   "--partition-by",
                                      "range",   "--key",       "ts",         "--interval",
                                      "1 month", "--spool-dir", spool_.path()};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_partshift(args, 120s);
    }

    // Nothing partshift creates may be left: no slot, publication, target or state schema.
    void expect_nothing_left() {
        auto conn = db_->connect();
        EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_replication_slots WHERE database = "
                            "current_database()")
                      .get_int(0, 0),
                  0);
        EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_publication").get_int(0, 0), 0);
        EXPECT_TRUE(conn.exec("SELECT to_regclass('orders_new') IS NULL").get_bool(0, 0));
        EXPECT_TRUE(conn.exec("SELECT to_regnamespace('partshift') IS NULL").get_bool(0, 0));
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

TEST_F(RunErrors, PostponedCutoverInADryRunIsBadUsage) {
    auto r = run({"--table", "orders", "--dry-run", "--postpone-cutover"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--postpone-cutover"), std::string::npos) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    expect_nothing_left();
}

TEST_F(RunErrors, BadCutoverOptionsAreBadUsage) {
    for (const auto& bad : std::vector<std::vector<std::string>>{
             {"--lock-timeout", "soon"}, {"--max-lock-hold", "1ms"}, {"--cutover-attempts", "0"}}) {
        std::vector<std::string> args{"--table", "orders"};
        args.insert(args.end(), bad.begin(), bad.end());
        auto r = run(args);
        EXPECT_EQ(r.exit_code, 2) << bad[0] << ": " << r.err;
        EXPECT_TRUE(one_line(r.err)) << r.err;
    }
    expect_nothing_left();
}

TEST_F(RunErrors, CopyMethodIsInsertOrCopy) {
    auto bad = run({"--table", "orders", "--dry-run", "--copy-method", "pipe"});
    EXPECT_EQ(bad.exit_code, 2) << bad.err;
    EXPECT_NE(bad.err.find("--copy-method is insert or copy"), std::string::npos) << bad.err;
    EXPECT_TRUE(one_line(bad.err)) << bad.err;
    expect_nothing_left();
    // `copy` pipes every chunk through partshift, with no ceiling set, and copies every row.
    auto piped =
        run({"--table", "orders", "--dry-run", "--dry-run-for", "500ms", "--copy-method", "copy"});
    ASSERT_EQ(piped.exit_code, 0) << piped.err;
    EXPECT_NE(piped.err.find("workers, through partshift (COPY)"), std::string::npos) << piped.err;
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "orders_new"), fingerprint(conn, "orders"));
}

TEST_F(RunErrors, TableWithoutKeyFailsPreflight) {
    auto r = run({"--table", "nokey", "--dry-run"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("primary key"), std::string::npos) << r.err;
    expect_nothing_left();
}

TEST_F(RunErrors, MissingTableIsBadInput) {
    auto r = run({"--table", "\"Nope\"", "--dry-run"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
}

TEST_F(RunErrors, BadDurationIsBadInput) {
    auto r = run({"--table", "orders", "--dry-run", "--dry-run-for", "ten minutes"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--dry-run-for"), std::string::npos) << r.err;
}

TEST_F(RunErrors, ListValueThatDoesNotFitTheKeyTypeIsBadInputAndLeavesNothing) {
    auto r = run({"--table", "orders", "--dry-run", "--subpartition-by", "list", "--subkey", "id",
                  "--subvalues", "1,2,x"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--subvalues value 'x'"), std::string::npos) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    expect_nothing_left();
}

TEST_F(RunErrors, SpoolDirThatCannotBeCreatedFailsBeforeAnythingIsCreated) {
    // A path under a regular file: no directory can ever be made there.
    const std::string file = spool_.path() + "/plain-file";
    { std::ofstream(file) << "not a directory\n"; }
    auto r = run_partshift(
        {"run", "--dsn", db_->dsn(), "--table", "orders", "--partition-by", "range", "--key", "ts",
         "--interval", "1 month", "--spool-dir", file + "/spool", "--dry-run"},
        120s);
    EXPECT_TRUE(r.exit_code == 2 || r.exit_code == 1) << r.exit_code << ": " << r.err;
    EXPECT_NE(r.err.find(file + "/spool"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Not a directory"), std::string::npos) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    expect_nothing_left();
}

TEST_F(RunErrors, SlotBlockedByAnOldTransactionNamesItAndLeavesNothing) {
    // A transaction holding an xid from before the slot request keeps the slot from becoming
    // consistent; partshift must give up in time, name the backend, and clean up.
    auto blocker = db_->connect();
    blocker.exec("BEGIN");
    auto pid = blocker.exec("SELECT pg_backend_pid(), txid_current()").get(0, 0);
    auto r = run({"--table", "orders", "--dry-run", "--slot-timeout", "3s"});
    blocker.exec("ROLLBACK");
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("pid " + pid), std::string::npos) << r.err;
    expect_nothing_left();
}

TEST_F(RunErrors, ResumingWithADifferentSpecIsRefused) {
    auto first = run({"--table", "orders", "--dry-run", "--dry-run-for", "500ms"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    auto second =
        run_partshift({"run", "--dsn", db_->dsn(), "--table", "orders", "--partition-by", "hash",
                       "--key", "id", "--modulus", "4", "--spool-dir", spool_.path(), "--dry-run"},
                      60s);
    EXPECT_EQ(second.exit_code, 2) << second.err;
    EXPECT_NE(second.err.find("--partition-by range"), std::string::npos) << second.err;
    auto abort = run_partshift({"abort", "--dsn", db_->dsn(), "--job", "orders"});
    EXPECT_EQ(abort.exit_code, 0) << abort.err;
    expect_nothing_left();
}

TEST_F(RunErrors, RowOutsideEveryPartitionStopsTheJobAndResumesOnceItHasOne) {
    // Following, a row arrives that no partition of the target takes (no default partition).
    auto first = run({"--table", "orders", "--dry-run", "--dry-run-for", "1s"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    db_->exec("INSERT INTO orders VALUES (5000, '2099-01-15 10:00+00', 'far')");

    auto stopped = run({"--table", "orders", "--dry-run", "--dry-run-for", "30s"});
    EXPECT_EQ(stopped.exit_code, 1) << stopped.err;
    const auto& err = stopped.err;
    const std::string last_line = err.substr(err.rfind('\n', err.size() - 2) + 1);
    EXPECT_NE(last_line.find("no partition"), std::string::npos) << stopped.err;
    EXPECT_NE(last_line.find("2099-01-15"), std::string::npos) << stopped.err;
    EXPECT_NE(last_line.find(R"(PARTITION OF "public"."orders_new")"), std::string::npos)
        << stopped.err;
    auto status = run_partshift({"status", "--dsn", db_->dsn(), "--job", "orders"});
    EXPECT_NE(status.out.find("2099-01-15"), std::string::npos) << status.out;

    // The user adds the partition; the next run applies the row and goes on.
    db_->exec(
        "CREATE TABLE orders_new_p2099_01 PARTITION OF orders_new "
        "FOR VALUES FROM ('2099-01-01 00:00+00') TO ('2099-02-01 00:00+00')");
    auto resumed = run({"--table", "orders", "--dry-run", "--dry-run-for", "1s"});
    EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "orders_new"), fingerprint(conn, "orders"));
    EXPECT_EQ(fingerprint(conn, "orders").rows, 1001);
}

// Issue 20 item 3. Fails on the code before this change: every `run` below after the first
// exited 0 with "job orders is already done" and changed nothing, and the re-partitioning job
// found the taken orders_old only at the swap, after the whole copy (exit 1).
TEST_F(RunErrors, AFinishedJobsNameDoesNotSwallowAnotherMigration) {
    auto first = run({"--table", "orders"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    auto same = run({"--table", "orders"});
    EXPECT_EQ(same.exit_code, 0) << same.err;
    EXPECT_NE(same.err.find("job orders is already done"), std::string::npos) << same.err;

    // Re-partitioning the finished job's table under the default job name.
    auto hash =
        run_partshift({"run", "--dsn", db_->dsn(), "--table", "orders", "--partition-by", "hash",
                       "--key", "id", "--modulus", "4", "--spool-dir", spool_.path()},
                      120s);
    EXPECT_EQ(hash.exit_code, 2) << hash.err;
    EXPECT_TRUE(one_line(hash.err)) << hash.err;
    EXPECT_NE(hash.err.find("job orders is done: it partitioned public.orders with "
                            "--partition-by range"),
              std::string::npos)
        << hash.err;
    EXPECT_NE(hash.err.find("--job NEW"), std::string::npos) << hash.err;
    EXPECT_NE(hash.err.find("DELETE FROM partshift.jobs WHERE job = 'orders'"), std::string::npos)
        << hash.err;

    // Another table with the same default job name.
    db_->exec(
        "CREATE SCHEMA s2; CREATE TABLE s2.orders (id bigint PRIMARY KEY, "
        "ts timestamptz NOT NULL); INSERT INTO s2.orders VALUES (1, now())");
    auto other = run({"--table", "s2.orders"});
    EXPECT_EQ(other.exit_code, 2) << other.err;
    EXPECT_NE(other.err.find("job orders is done: it migrated public.orders, not s2.orders"),
              std::string::npos)
        << other.err;
    EXPECT_EQ(relkind(*db_, "s2.orders"), "r");

    // With a job of its own, the re-partitioning starts, and finds orders_old (kept by the
    // first job) taken before anything is created: exit 3 naming --old-name.
    std::vector<std::string> again{"run",    "--dsn",       db_->dsn(),   "--table",
                                   "orders", "--job",       "orders2",    "--partition-by",
                                   "hash",   "--key",       "id",         "--modulus",
                                   "4",      "--spool-dir", spool_.path()};
    auto taken = run_partshift(again, 120s);
    EXPECT_EQ(taken.exit_code, 3) << taken.err;
    EXPECT_TRUE(one_line(taken.err)) << taken.err;
    EXPECT_NE(taken.err.find("orders_old, but that name is taken"), std::string::npos) << taken.err;
    EXPECT_NE(taken.err.find("--old-name"), std::string::npos) << taken.err;
    again.insert(again.end(), {"--old-name", "orders_range"});
    auto repartitioned = run_partshift(again, 120s);
    EXPECT_EQ(repartitioned.exit_code, 0) << repartitioned.err;
    auto conn = db_->connect();
    EXPECT_EQ(conn.exec("SELECT partstrat::text FROM pg_partitioned_table WHERE partrelid = "
                        "'public.orders'::regclass")
                  .get(0, 0),
              "h");
    EXPECT_EQ(relkind(*db_, "public.orders_range"), "p");
}

// Issue 20 item 3. Fails on the code before this change: the first run went ahead with
// orders_old taken, and the resumed job ignored --old-name (the swap then failed on the
// name it kept, exit 1).
TEST_F(RunErrors, TakenOldNameFailsPreflightAndAResumedJobTakesANewOne) {
    db_->exec("CREATE TABLE orders_old (x int)");
    auto taken = run({"--table", "orders", "--dry-run", "--dry-run-for", "500ms"});
    EXPECT_EQ(taken.exit_code, 3) << taken.err;
    EXPECT_TRUE(one_line(taken.err)) << taken.err;
    EXPECT_NE(taken.err.find("renames public.orders to orders_old, but that name is taken"),
              std::string::npos)
        << taken.err;
    expect_nothing_left();

    auto first = run(
        {"--table", "orders", "--dry-run", "--dry-run-for", "500ms", "--old-name", "orders_prev"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    db_->exec("CREATE TABLE orders_prev (x int)");
    auto resumed = run({"--table", "orders", "--dry-run", "--dry-run-for", "500ms"});
    EXPECT_EQ(resumed.exit_code, 3) << resumed.err;
    EXPECT_NE(resumed.err.find("orders_prev, but that name is taken"), std::string::npos)
        << resumed.err;
    // Another target name cannot be taken by a job whose target exists.
    auto target =
        run({"--table", "orders", "--target-name", "orders_next", "--old-name", "orders_keep"});
    EXPECT_EQ(target.exit_code, 2) << target.err;
    EXPECT_NE(target.err.find("builds its partitioned table as public.orders_new"),
              std::string::npos)
        << target.err;
    auto cut = run({"--table", "orders", "--old-name", "orders_keep"});
    EXPECT_EQ(cut.exit_code, 0) << cut.err;
    EXPECT_EQ(relkind(*db_, "public.orders"), "p");
    EXPECT_EQ(relkind(*db_, "public.orders_keep"), "r");
    EXPECT_EQ(relkind(*db_, "public.orders_prev"), "r");
}

namespace {

// stderr_lines: stderr split into its lines.
std::vector<std::string> stderr_lines(const std::string& err) {
    std::vector<std::string> out;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

}  // namespace

// issue 21 item 4: a role that may not read the table, own it, stream or create gets every
// missing right at once as a preflight result (exit 3), one line each with the GRANT that fixes
// it, names filled in; not the server's raw "permission denied for table orders" (exit 1), and
// not one failure per attempt.
TEST_F(RunErrors, ARoleWithoutRightsLearnsEveryMissingRightAtOnce) {
    // Unique to this test's database (its name ends in a number of its own), and short
    // enough for a role name (63 bytes).
    const std::string& db = db_->name();
    const std::string role = "bob_" + db.substr(db.size() > 40 ? db.size() - 40 : 0);
    const std::string quoted = pg::quote_ident(role);
    {
        auto conn = db_->connect();
        conn.exec("DROP ROLE IF EXISTS " + quoted);
        conn.exec("CREATE ROLE " + quoted + " LOGIN");
    }
    auto run_as_role = [&] {
        return run_partshift(
            {"run", "--dsn", db_->dsn() + " user=" + role, "--table", "orders", "--partition-by",
             "range", "--key", "ts", "--interval", "1 month", "--spool-dir", spool_.path()},
            120s);
    };
    auto unreadable = run_as_role();
    db_->exec("GRANT SELECT ON orders TO " + quoted);
    auto readable = run_as_role();
    {
        auto conn = db_->connect();
        conn.exec("DROP OWNED BY " + quoted);
        conn.exec("DROP ROLE " + quoted);
    }
    const std::vector<std::string> wanted{
        "ALTER ROLE " + quoted + " REPLICATION",
        "GRANT CREATE ON DATABASE " + pg::quote_ident(db_->name()) + " TO " + quoted,
        "GRANT CREATE ON SCHEMA public TO " + quoted, "does not own public.orders",
        "GRANT SET ON PARAMETER session_replication_role TO " + quoted};
    for (const auto* r : {&unreadable, &readable}) {
        EXPECT_EQ(r->exit_code, 3) << r->err;
        EXPECT_EQ(r->err.find("permission denied"), std::string::npos) << r->err;
        EXPECT_EQ(r->err.find("<"), std::string::npos) << r->err;  // no placeholder
        const auto lines = stderr_lines(r->err);
        for (const auto& line : lines)
            EXPECT_EQ(line.rfind("partshift: preflight failed: ", 0), 0u) << line;
        for (const auto& fix : wanted)
            EXPECT_NE(r->err.find(fix), std::string::npos) << fix << "\n" << r->err;
        EXPECT_EQ(lines.size(), wanted.size() + (r == &unreadable ? 1 : 0)) << r->err;
    }
    EXPECT_NE(unreadable.err.find("GRANT SELECT ON public.orders TO " + quoted), std::string::npos)
        << unreadable.err;
    expect_nothing_left();
}

// issue 21 item 5: a metrics port another process holds is named as in use (bad input, exit 2,
// one line, nothing made), not a library's words about its own failure.
TEST_F(RunErrors, AMetricsPortInUseSaysSo) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor holder(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    const std::string address = "127.0.0.1:" + std::to_string(holder.local_endpoint().port());
    auto r = run({"--table", "orders", "--dry-run", "--metrics-addr", address});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--metrics-addr " + address +
                         ": cannot listen there: the port is in use by another process"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    expect_nothing_left();
}
