// Replica identity other than the default, through the real binary. pgoutput sends the replica
// identity's columns as the old key; partshift matches rows by the primary key. USING INDEX on
// another index is refused at preflight (exit 3, with the fix, nothing created); FULL sends the
// whole old row, primary key included, and converges under updates that change the primary key.
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

class ReplicaIdentity : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        db_->exec(
            "CREATE TABLE accounts (id bigint PRIMARY KEY, code text NOT NULL UNIQUE, "
            "  ts timestamptz NOT NULL, balance numeric, note text);"
            "INSERT INTO accounts SELECT g, 'c' || g, "
            "  '2025-01-01'::timestamptz + g * interval '1 hour', g * 1.5, repeat('n', g % 50) "
            "FROM generate_series(1, 3000) g;");
    }

    std::vector<std::string> run_args(std::vector<std::string> extra) {
        std::vector<std::string> args{
            "run",   "--dsn", db_->dsn(),   "--table", "accounts",    "--partition-by", "range",
            "--key", "ts",    "--interval", "1 month", "--spool-dir", spool_.path()};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    std::optional<proto::status_report> status() {
        auto r = run_partshift({"status", "--dsn", db_->dsn(), "--job", "accounts", "--json"});
        if (r.exit_code != 0) return std::nullopt;
        proto::status_report report;
        if (!google::protobuf::util::JsonStringToMessage(r.out, &report).ok()) return std::nullopt;
        return report;
    }

    bool wait_caught_up(child_process& run) {
        int zero_in_a_row = 0;
        auto deadline = std::chrono::steady_clock::now() + 300s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (!run.running()) {
                ADD_FAILURE() << "partshift exited\n" << run.log();
                return false;
            }
            auto s = status();
            zero_in_a_row =
                s && s->phase() == "follow" && s->lag_bytes() == 0 ? zero_in_a_row + 1 : 0;
            if (zero_in_a_row >= 3) return true;
            std::this_thread::sleep_for(500ms);
        }
        ADD_FAILURE() << "timed out waiting for lag 0\n" << run.log();
        return false;
    }

    std::unique_ptr<test_database> db_;
    temp_dir spool_;
};

}  // namespace

TEST_F(ReplicaIdentity, UsingAnotherIndexIsRefusedAtPreflightWithTheFix) {
    db_->exec("ALTER TABLE accounts REPLICA IDENTITY USING INDEX accounts_code_key");
    // Bounded, so that without the refusal the run ends by itself (and converges on nothing).
    auto r = run_partshift(run_args({"--dry-run", "--dry-run-for", "2s"}), 120s);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("accounts_code_key"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("REPLICA IDENTITY DEFAULT"), std::string::npos) << r.err;
    EXPECT_TRUE(one_line(r.err)) << r.err;
    auto conn = db_->connect();
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_replication_slots WHERE database = "
                        "current_database()")
                  .get_int(0, 0),
              0);
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_publication").get_int(0, 0), 0);
    EXPECT_TRUE(conn.exec("SELECT to_regclass('accounts_new') IS NULL").get_bool(0, 0));
}

TEST_F(ReplicaIdentity, FullConvergesUnderPrimaryKeyChangesAndDeletes) {
    db_->exec("ALTER TABLE accounts REPLICA IDENTITY FULL");
    child_process run(
        [&] {
            std::vector<std::string> argv{PARTSHIFT_BINARY};
            auto args = run_args({"--dry-run"});
            argv.insert(argv.end(), args.begin(), args.end());
            return argv;
        }(),
        spool_.path() + "-run.log");
    auto deadline = std::chrono::steady_clock::now() + 300s;
    while (std::chrono::steady_clock::now() < deadline && run.running()) {
        if (auto s = status(); s && s->phase() == "follow") break;
        std::this_thread::sleep_for(200ms);
    }
    // Primary-key changes that leave the unique code alone, code changes that leave the key
    // alone, plain updates and deletes.
    db_->exec(
        "UPDATE accounts SET id = id + 100000 WHERE id % 5 = 0;"
        "UPDATE accounts SET code = code || 'x', balance = balance + 1 WHERE id % 7 = 0;"
        "UPDATE accounts SET note = 'changed' WHERE id % 3 = 0;"
        "DELETE FROM accounts WHERE id % 11 = 0;");
    ASSERT_TRUE(wait_caught_up(run));
    run.signal(SIGTERM);
    auto code = run.wait(120s);
    ASSERT_TRUE(code.has_value()) << run.log();
    EXPECT_EQ(*code, 0) << run.log();
    auto conn = db_->connect();
    EXPECT_EQ(fingerprint(conn, "public.accounts_new"), fingerprint(conn, "public.accounts"));
}
