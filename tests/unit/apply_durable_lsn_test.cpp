// Unit tests for apply/durable_lsn (no server): an asynchronously committed batch's applied
// LSN becomes durable only once the target's WAL flush passes the position read after it.
#include <gtest/gtest.h>

#include "partshift/apply/durable_lsn.hpp"

using partshift::apply::durable_lsn;

TEST(ApplyDurableLsn, ASavedPositionIsDurableOnceTheFlushPassesIt) {
    durable_lsn d(true);
    d.resume(1000, 0x50);
    EXPECT_FALSE(d.note(0, 999).has_value());
    EXPECT_EQ(d.note(0, 1000), 0x50u);
    EXPECT_EQ(d.waiting(), 0u);
}

TEST(ApplyDurableLsn, CommitsSettleInOrderAndTheNewestDurableIsReported) {
    durable_lsn d(true);
    d.resume(100, 0x10);
    d.committed(0x20);
    EXPECT_FALSE(d.note(200, 50).has_value());  // 0x20's commit is at or before WAL 200
    d.committed(0x30);
    EXPECT_EQ(d.note(300, 250), 0x20u);  // 100 and 200 flushed, 300 not yet
    EXPECT_EQ(d.waiting(), 1u);
    EXPECT_EQ(d.note(0, 300), 0x30u);
}

TEST(ApplyDurableLsn, ASynchronousCommitIsDurableAtOnce) {
    durable_lsn d(false);
    d.resume(100, 0x10);
    d.committed(0x20);
    EXPECT_EQ(d.note(200, 0), 0x20u);
    EXPECT_EQ(d.waiting(), 0u);
}

TEST(ApplyDurableLsn, ResumeForgetsEarlierCommits) {
    durable_lsn d(true);
    d.resume(100, 0x10);
    d.committed(0x20);
    d.resume(500, 0x40);
    EXPECT_EQ(d.waiting(), 1u);
    EXPECT_EQ(d.note(0, 500), 0x40u);
}
