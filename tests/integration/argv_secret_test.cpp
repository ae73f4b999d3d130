// Issue 18 item 4 through the real binary: a password written in --dsn is masked in the
// process's argv once partshift has parsed its options, so ps and /proc/PID/cmdline (readable
// by every local user) no longer show it while the run goes on.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "support/job_driver.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

// cmdline: /proc/PID/cmdline with the NULs between arguments as spaces.
std::string cmdline(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::stringstream s;
    s << in.rdbuf();
    auto text = s.str();
    std::replace(text.begin(), text.end(), '\0', ' ');
    return text;
}

}  // namespace

TEST(ArgvSecret, APasswordInDsnIsGoneFromTheCommandLineWhileTheRunGoesOn) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    ASSERT_TRUE(load_events_table(db, 2000));
    temp_dir spool;
    const std::string secret = "argv-s3cret-" + db.name();
    child_process run({PARTSHIFT_BINARY, "run", "--dsn", db.dsn() + " password=" + secret,
                       "--table", "events", "--partition-by", "range", "--key", "ts", "--interval",
                       "1 month", "--premake", "3", "--spool-dir", spool.path(), "--dry-run"},
                      spool.path() + "-run.log");
    wait_for_status(
        db.dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 180s, &run,
        "follow");
    const auto seen = cmdline(run.pid());
    run.signal(SIGTERM);
    run.wait(60s);
    EXPECT_EQ(seen.find(secret), std::string::npos) << seen;
    // The rest stays readable: which database and table this run works on.
    EXPECT_NE(seen.find("--dsn " + db.dsn() + " password=" + std::string(secret.size(), 'x')),
              std::string::npos)
        << seen;
    EXPECT_NE(seen.find("--table events"), std::string::npos) << seen;
}
