// The streamer's message path with PostgreSQL 14's empty transactions (issue 8 item 14): a
// hand-made fixture of what pgoutput before 15 sends is fed as CopyData frames, no server.
#include <gtest/gtest.h>

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <string>
#include <vector>

#include "partshift/stream/pgoutput_decoder.hpp"
#include "partshift/stream/streamer.hpp"
#include "pgoutput_fixture.hpp"
#include "streamer_feed.hpp"

using namespace partshift;
using namespace partshift::stream;
using partshift::testing::recording_sink;
using partshift::testing::xlog_frame;

// Empty Begin/Commit pairs never reach the spool, so the applier never commits a batch (and
// writes its checkpoint, itself an empty transaction on 14) for them: nothing feeds itself.
// A transaction holding only a transactional message (the cutover fence) is not empty.
TEST(StreamerEmptyTransactions, Pg14EmptyPairsAreDroppedAndFencesKept) {
    recording_sink sink;
    base::progress progress;
    std::atomic<bool> stop{false};
    streamer s({"", "slot", "pub", 0}, sink, progress, stop);
    bool reply_now = false;
    for (const auto& m : partshift::testing::load_fixture("pg14_empty_transactions.hex"))
        s.handle_frame(xlog_frame(m.lsn, m.bytes), reply_now);
    EXPECT_EQ(sink.kinds, "BRICBMC");
    EXPECT_EQ(sink.last_commit, *parse_lsn("0/1A00530"));
    EXPECT_EQ(progress.received_lsn.load(), *parse_lsn("0/1A00600"));
}
