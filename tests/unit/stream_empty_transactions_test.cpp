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

using namespace partshift;
using namespace partshift::stream;

namespace {

// recording_sink: keeps the message kinds it was given.
class recording_sink : public change_sink {
  public:
    void append(const message& msg) override {
        kinds.push_back(message_type(msg));
        if (auto* c = std::get_if<commit_msg>(&msg)) last_commit = c->end_lsn;
    }
    lsn_t flush() override { return last_commit; }
    uint64_t unflushed_bytes() const override { return 0; }
    lsn_t last_commit_end_lsn() const override { return last_commit; }
    void record_position(lsn_t) override {}
    lsn_t durable_position() const override { return last_commit; }

    std::string kinds;
    lsn_t last_commit = 0;
};

void put_be64(std::string& out, uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

// xlog_frame: a 'w' CopyData frame carrying one pgoutput message, its WAL end at lsn.
std::string xlog_frame(const std::string& lsn_text, const std::string& payload) {
    lsn_t lsn = *parse_lsn(lsn_text);
    std::string frame = "w";
    put_be64(frame, lsn);
    put_be64(frame, lsn);
    put_be64(frame, 0);
    return frame + payload;
}

}  // namespace

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
