// state::acquire_run_lock against the sandbox: a job another session runs is refused at once
// without patience; with patience the lock is taken as soon as the holder's session ends (the
// server's lock queue wakes the waiter), or refused once the patience is spent; either way the
// waiting session's own lock_timeout is as it was.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

#include "partshift/error.hpp"
#include "partshift/state/run_lock.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

class RunLock : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_.emplace();
        holder_.emplace(db_->connect());
        state::acquire_run_lock(*holder_, "locked");
        waiter_.emplace(db_->connect());
        waiter_->exec("SET lock_timeout = '7s'");
    }

    std::string waiter_lock_timeout() {
        return waiter_->query("SELECT pg_catalog.current_setting('lock_timeout')").get(0, 0);
    }

    std::optional<test_database> db_;
    std::optional<pg::connection> holder_, waiter_;
};

}  // namespace

TEST_F(RunLock, RefusedAtOnceWithoutPatience) {
    try {
        state::acquire_run_lock(*waiter_, "locked");
        FAIL() << "took a lock another session holds";
    } catch (const runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("job locked is running"), std::string::npos)
            << e.what();
    }
    state::acquire_run_lock(*waiter_, "another job");  // other jobs are not in the way
}

TEST_F(RunLock, TakenAsSoonAsTheHolderEnds) {
    std::thread ender([&] {
        std::this_thread::sleep_for(300ms);
        holder_.reset();  // the session ends, and its lock with it
    });
    const auto start = clock_type::now();
    state::acquire_run_lock(*waiter_, "locked", 30s);
    const auto took = clock_type::now() - start;
    ender.join();
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 10s);
    EXPECT_EQ(waiter_lock_timeout(), "7s");
    auto other = db_->connect();
    EXPECT_EQ(state::run_lock_holder(other, "locked"), state::own_holder_name(*waiter_));
}

TEST_F(RunLock, RefusedOnceThePatienceIsSpent) {
    const auto start = clock_type::now();
    EXPECT_THROW(state::acquire_run_lock(*waiter_, "locked", 300ms), runtime_error);
    EXPECT_GE(clock_type::now() - start, 300ms);
    EXPECT_EQ(waiter_lock_timeout(), "7s");
    auto other = db_->connect();
    EXPECT_EQ(state::run_lock_holder(other, "locked"), state::own_holder_name(*holder_));
}
