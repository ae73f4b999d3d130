// What unit tests of the streamer's message path need without a server: a sink that records
// what it is given, and CopyData frames made from fixture messages (pgoutput_fixture.hpp).
#pragma once

#include <string>
#include <vector>

#include "partshift/stream/change_sink.hpp"
#include "partshift/stream/pgoutput_decoder.hpp"

namespace partshift::testing {

// recording_sink: keeps the messages it was given, and their kinds as a string ("BRIC").
class recording_sink : public stream::change_sink {
  public:
    void append(const stream::message& msg) override {
        kinds.push_back(stream::message_type(msg));
        messages.push_back(msg);
        if (auto* c = std::get_if<stream::commit_msg>(&msg)) last_commit = c->end_lsn;
    }
    stream::lsn_t flush() override { return last_commit; }
    uint64_t unflushed_bytes() const override { return 0; }
    stream::lsn_t last_commit_end_lsn() const override { return last_commit; }
    void record_position(stream::lsn_t) override {}
    stream::lsn_t durable_position() const override { return last_commit; }

    std::string kinds;
    std::vector<stream::message> messages;
    stream::lsn_t last_commit = 0;
};

// xlog_frame: a 'w' CopyData frame carrying one pgoutput message, its WAL end at lsn.
inline std::string xlog_frame(const std::string& lsn_text, const std::string& payload) {
    const stream::lsn_t lsn = *stream::parse_lsn(lsn_text);
    std::string frame = "w";
    auto put_be64 = [&frame](uint64_t v) {
        for (int shift = 56; shift >= 0; shift -= 8) frame.push_back(static_cast<char>(v >> shift));
    };
    put_be64(lsn);
    put_be64(lsn);
    put_be64(0);
    return frame + payload;
}

}  // namespace partshift::testing
