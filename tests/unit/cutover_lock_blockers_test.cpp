// Which lock blockers --cutover-terminate-blockers-after may end: client sessions and ordinary
// autovacuum, never autovacuum against wraparound, other server processes or partshift's own.
#include <gtest/gtest.h>

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
