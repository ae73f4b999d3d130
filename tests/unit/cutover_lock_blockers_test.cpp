// Which lock blockers --cutover-terminate-blockers-after may end: client sessions and ordinary
// autovacuum, never autovacuum against wraparound, other server processes, partshift's own or a
// prepared transaction; which autovacuum the cutover cancels; how blockers are described.
#include <gtest/gtest.h>

#include <algorithm>

#include "partshift/cutover/lock_blockers.hpp"

using partshift::cutover::lock_blocker;
using partshift::cutover::may_terminate;

namespace {

lock_blocker blocker(std::string type, std::string query, std::string application = "psql") {
    lock_blocker b;
    b.pid = 42;
    b.backend_type = std::move(type);
    b.query = std::move(query);
    b.application = std::move(application);
    return b;
}

TEST(LockBlockers, ClientSessionsMayBeTerminated) {
    EXPECT_EQ(may_terminate(blocker("client backend", "SELECT count(*) FROM events")), "");
    EXPECT_EQ(may_terminate(blocker("autovacuum worker", "autovacuum: VACUUM public.events")), "");
}

TEST(LockBlockers, NeverWraparoundVacuumServerProcessesOrPartshiftItself) {
    EXPECT_EQ(may_terminate(blocker("autovacuum worker",
                                    "autovacuum: VACUUM public.events (to prevent wraparound)")),
              "autovacuum preventing wraparound");
    EXPECT_NE(may_terminate(blocker("parallel worker", "SELECT")), "");
    EXPECT_NE(may_terminate(blocker("walsender", "")), "");
    EXPECT_EQ(may_terminate(blocker("client backend", "SELECT", "partshift-verify")),
              "a session of partshift's own");
}

TEST(LockBlockers, DescribeNamesTheFirstFive) {
    std::vector<lock_blocker> many(7, blocker("client backend", "SELECT 1"));
    const auto text = partshift::cutover::describe_blockers(many);
    EXPECT_NE(text.find("pid 42 ("), std::string::npos);
    EXPECT_NE(text.find("and 2 more"), std::string::npos);
    EXPECT_EQ(partshift::cutover::describe_blockers({}), "a session that finished meanwhile");
}

}  // namespace

// Issue 20 item 5: the modes that conflict with each lock the cutover asks for; prepared
// transactions named and never terminated; only ordinary autovacuum cancelled.
TEST(LockBlockers, ConflictingModesFollowTheLockTable) {
    using partshift::cutover::conflicting_modes;
    using partshift::cutover::lock_request;
    const auto sue = conflicting_modes(lock_request::share_update_exclusive);
    EXPECT_EQ(sue.size(), 5u);
    EXPECT_EQ(std::count(sue.begin(), sue.end(), "RowExclusiveLock"), 0);
    EXPECT_EQ(std::count(sue.begin(), sue.end(), "ShareUpdateExclusiveLock"), 1);
    EXPECT_EQ(conflicting_modes(lock_request::access_exclusive).size(), 8u);
}

TEST(LockBlockers, PreparedTransactionsAreNamedAndNeverTerminated) {
    lock_blocker b;
    b.prepared_gid = "tx42";
    b.prepared_age = "310";
    b.user = "app";
    b.relations = "public.events";
    const auto text = partshift::cutover::describe_blockers({b});
    EXPECT_NE(text.find("prepared transaction 'tx42' (prepared 310 s ago by app, holds "
                        "public.events"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("ROLLBACK PREPARED 'tx42'"), std::string::npos) << text;
    EXPECT_EQ(text.find("finished meanwhile"), std::string::npos) << text;
    EXPECT_NE(may_terminate(b), "");
    EXPECT_FALSE(partshift::cutover::may_cancel_autovacuum(b));
}

TEST(LockBlockers, OnlyOrdinaryAutovacuumIsCancelled) {
    using partshift::cutover::may_cancel_autovacuum;
    EXPECT_TRUE(may_cancel_autovacuum(blocker("autovacuum worker", "autovacuum: VACUUM public.t")));
    // The wraparound marker is past the 60 characters of query text kept for the log.
    auto wrap = blocker("autovacuum worker", "autovacuum: VACUUM public.a_long_partition_name_");
    wrap.wraparound = true;
    EXPECT_FALSE(may_cancel_autovacuum(wrap));
    EXPECT_EQ(may_terminate(wrap), "autovacuum preventing wraparound");
    EXPECT_FALSE(may_cancel_autovacuum(blocker("client backend", "SELECT 1")));
}
