// Unit tests for throttling decisions, the WAL-retention guard's levels and the option
// parsers they come with. No server.
#include <gtest/gtest.h>

#include "partshift/error.hpp"
#include "partshift/throttle/throttle_decision.hpp"
#include "partshift/throttle/throttle_limits.hpp"
#include "partshift/throttle/wal_guard.hpp"

using namespace partshift;
using namespace partshift::throttle;

TEST(ThrottleLimits, LoadSpecReadsBothNames) {
    auto l = parse_load_spec("active_backends=40,waiting_backends=10");
    EXPECT_EQ(l.active_backends, 40);
    EXPECT_EQ(l.waiting_backends, 10);
    EXPECT_FALSE(l.empty());
    EXPECT_EQ(parse_load_spec("waiting_backends=3").active_backends, std::nullopt);
}

TEST(ThrottleLimits, LoadSpecRefusesWhatItDoesNotKnow) {
    for (const char* bad : {"", "active_backends", "threads=4", "active_backends=0",
                            "active_backends=x", "active_backends=4,", "active_backends=-1"}) {
        try {
            parse_load_spec(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const usage_error& e) {
            EXPECT_NE(std::string(e.what()).find("--max-load"), std::string::npos) << e.what();
        }
    }
}

TEST(ThrottleLimits, CopyRateTakesRowsPerSecond) {
    EXPECT_EQ(parse_copy_rate("5000", "max-copy-rate"), 5000);
    EXPECT_EQ(parse_copy_rate("5000/s", "max-copy-rate"), 5000);
    EXPECT_EQ(parse_copy_rate("0", "max-copy-rate"), 0);
    EXPECT_THROW(parse_copy_rate("5MB/s", "max-copy-rate"), usage_error);
    EXPECT_THROW(parse_copy_rate("-4", "max-copy-rate"), usage_error);
    EXPECT_THROW(parse_copy_rate("", "max-copy-rate"), usage_error);
}

TEST(ThrottleLimits, DescribeNamesEveryLimit) {
    throttle_limits l;
    EXPECT_EQ(describe(l), "");
    l.max_replica_lag = std::chrono::seconds(10);
    l.max_load.active_backends = 40;
    l.throttle_query = "SELECT 1";
    EXPECT_EQ(describe(l), "max-replica-lag 10000ms, active_backends 40, throttle-query");
}

namespace {

slot_wal_reading reading(int64_t retained_mb, std::optional<int64_t> server_limit_mb,
                         const std::string& status = "reserved") {
    slot_wal_reading r;
    r.wal_status = status;
    r.retained_bytes = retained_mb << 20;
    if (server_limit_mb) {
        r.server_limit_bytes = *server_limit_mb << 20;
        r.safe_wal_bytes = (*server_limit_mb - retained_mb) << 20;
    }
    return r;
}

}  // namespace

TEST(WalGuard, LevelsFollowTheServerLimit) {
    EXPECT_EQ(assess_slot_wal(reading(10, 100), std::nullopt).level, wal_guard_level::ok);
    EXPECT_EQ(assess_slot_wal(reading(55, 100), std::nullopt).level, wal_guard_level::warn);
    EXPECT_EQ(assess_slot_wal(reading(80, 100), std::nullopt).level, wal_guard_level::throttle);
    auto stop = assess_slot_wal(reading(91, 100), std::nullopt);
    EXPECT_EQ(stop.level, wal_guard_level::stop);
    EXPECT_EQ(stop.limit_bytes, 100LL << 20);
    EXPECT_NE(stop.message.find("max_slot_wal_keep_size"), std::string::npos) << stop.message;
    EXPECT_NE(stop.message.find("91%"), std::string::npos) << stop.message;
}

TEST(WalGuard, OwnLimitCountsWhenTheServerHasNone) {
    // max_slot_wal_keep_size = -1: nothing but the server's disk limits the slot.
    EXPECT_EQ(assess_slot_wal(reading(900, std::nullopt), std::nullopt).level, wal_guard_level::ok);
    auto v = assess_slot_wal(reading(80, std::nullopt), 100LL << 20);
    EXPECT_EQ(v.level, wal_guard_level::throttle);
    EXPECT_NE(v.message.find("--slot-wal-limit"), std::string::npos) << v.message;
    // The smaller limit governs.
    EXPECT_EQ(assess_slot_wal(reading(60, 1000), 64LL << 20).level, wal_guard_level::stop);
}

TEST(WalGuard, ThresholdsCanBeInjected) {
    wal_guard_thresholds t{0.1, 0.2, 0.3};
    EXPECT_EQ(assess_slot_wal(reading(25, 100), std::nullopt, t).level, wal_guard_level::throttle);
}

TEST(WalGuard, SafeWalSizeWinsWhenItIsTighter) {
    // The server rounds to segments: less may be safe than the retained bytes suggest.
    auto r = reading(50, 100);
    r.safe_wal_bytes = 5LL << 20;
    EXPECT_EQ(assess_slot_wal(r, std::nullopt).level, wal_guard_level::stop);
}

TEST(WalGuard, UnreservedStopsAndLostSaysStartOver) {
    auto unreserved = assess_slot_wal(reading(10, std::nullopt, "unreserved"), std::nullopt);
    EXPECT_EQ(unreserved.level, wal_guard_level::stop);
    EXPECT_TRUE(unreserved.unreserved);
    auto lost = assess_slot_wal(reading(0, 100, "lost"), std::nullopt);
    EXPECT_EQ(lost.level, wal_guard_level::lost);
    EXPECT_NE(lost.message.find("invalidated"), std::string::npos) << lost.message;
}

// PostgreSQL 18: a slot invalidated for idleness names that cause, not the WAL limit.
TEST(WalGuard, LostForIdlenessNamesTheIdleTimeout) {
    auto r = reading(0, 100, "lost");
    r.invalidation_reason = "idle_timeout";
    r.idle_timeout_seconds = 600;
    auto lost = assess_slot_wal(r, std::nullopt);
    EXPECT_EQ(lost.level, wal_guard_level::lost);
    EXPECT_TRUE(lost.idle_timeout);
    EXPECT_NE(lost.message.find("idle_replication_slot_timeout (600 s)"), std::string::npos)
        << lost.message;
    EXPECT_EQ(lost.message.find("max_slot_wal_keep_size"), std::string::npos) << lost.message;
    r.invalidation_reason = "wal_removed";
    auto wal = assess_slot_wal(r, std::nullopt);
    EXPECT_FALSE(wal.idle_timeout);
    EXPECT_NE(wal.message.find("max_slot_wal_keep_size"), std::string::npos) << wal.message;
}

TEST(WalGuard, IdleTimeoutWarningOnlyWhenTheServerHasOne) {
    auto r = reading(0, std::nullopt);
    EXPECT_EQ(idle_timeout_warning(r), "");
    r.idle_timeout_seconds = 86400;
    EXPECT_NE(idle_timeout_warning(r).find("86400 s (idle_replication_slot_timeout)"),
              std::string::npos);
}

TEST(ThrottleDecision, NothingOverItsLimitDoesNotThrottle) {
    throttle_limits l;
    l.max_replica_lag = std::chrono::seconds(5);
    l.max_load = parse_load_spec("active_backends=10");
    l.throttle_query = "SELECT 0";
    server_signals s;
    s.replica_lag_seconds = 4.9;
    s.active_backends = 10;
    s.throttle_query_value = 0;
    EXPECT_FALSE(decide_throttle(l, s, false, {}).throttled());
}

TEST(ThrottleDecision, EachSignalNamesItself) {
    throttle_limits l;
    l.max_replica_lag = std::chrono::seconds(5);
    l.max_load = parse_load_spec("active_backends=10,waiting_backends=2");
    l.throttle_query = "SELECT n FROM throttle";
    server_signals s;
    s.replica_lag_seconds = 7.25;
    s.replica_name = "standby1";
    auto r = decide_throttle(l, s, false, {});
    EXPECT_EQ(r.kind, "replica_lag");
    EXPECT_NE(r.text.find("standby1"), std::string::npos) << r.text;
    s = {};
    s.waiting_backends = 3;
    EXPECT_EQ(decide_throttle(l, s, false, {}).kind, "load");
    EXPECT_NE(decide_throttle(l, s, false, {}).text.find("waiting_backends 3 > 2"),
              std::string::npos);
    s = {};
    s.throttle_query_value = 2;
    EXPECT_EQ(decide_throttle(l, s, false, {}).text, "--throttle-query returned 2");
    s = {};
    s.throttle_query_error = "relation \"throttle\" does not exist";
    EXPECT_EQ(decide_throttle(l, s, false, {}).kind, "throttle_query");  // fails closed
}

TEST(ThrottleDecision, PauseComesFirstThenTheWalGuard) {
    throttle_limits l;
    l.throttle_query = "SELECT 1";
    server_signals s;
    s.throttle_query_value = 1;
    wal_guard_verdict guard;
    guard.level = wal_guard_level::throttle;
    guard.message = "the slot pins 80 MB";
    EXPECT_EQ(decide_throttle(l, s, true, guard).kind, "paused");
    EXPECT_EQ(decide_throttle(l, s, false, guard).kind, "wal_retention");
    guard.level = wal_guard_level::warn;  // a warning alone does not throttle
    EXPECT_EQ(decide_throttle(l, s, false, guard).kind, "throttle_query");
}
