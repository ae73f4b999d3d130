// Unit tests for CopyBoth framing and the PG-epoch clock helpers (no server).
#include <gtest/gtest.h>

#include "partshift/stream/pg_clock.hpp"
#include "partshift/stream/pgoutput_decoder.hpp"
#include "partshift/stream/replication_protocol.hpp"

using namespace partshift::stream;

namespace {
std::string be64(uint64_t v) {
    std::string out;
    for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
    return out;
}
}  // namespace

TEST(ReplicationProtocol, ParsesXLogData) {
    const std::string frame =
        "w" + be64(0x16B374D848) + be64(0x16B374D900) + be64(1234567) + std::string("E");
    const auto parsed = parse_copy_data(frame);
    const auto* x = std::get_if<xlog_data>(&parsed);
    ASSERT_TRUE(x);
    EXPECT_EQ(x->data_start, 0x16B374D848u);
    EXPECT_EQ(x->wal_end, 0x16B374D900u);
    EXPECT_EQ(x->send_time, 1234567);
    EXPECT_EQ(x->payload, "E");
    EXPECT_EQ(x->payload.data(), frame.data() + 25);  // a view, no copy
}

TEST(ReplicationProtocol, ParsesKeepalive) {
    for (const bool reply : {false, true}) {
        const std::string frame =
            "k" + be64(42) + be64(static_cast<uint64_t>(-5)) + std::string(1, reply ? '\1' : '\0');
        const auto parsed = parse_copy_data(frame);
        const auto* k = std::get_if<keepalive>(&parsed);
        ASSERT_TRUE(k);
        EXPECT_EQ(k->wal_end, 42u);
        EXPECT_EQ(k->send_time, -5);
        EXPECT_EQ(k->reply_requested, reply);
    }
}

TEST(ReplicationProtocol, RejectsBadFrames) {
    const std::string keep = "k" + be64(1) + be64(2) + std::string(1, '\0');
    for (std::size_t n = 0; n < keep.size(); ++n) {
        EXPECT_THROW(parse_copy_data(keep.substr(0, n)), decode_error) << n;
    }
    EXPECT_THROW(parse_copy_data(keep + "x"), decode_error);
    const std::string wal = "w" + be64(1) + be64(2) + be64(3);
    for (std::size_t n = 0; n < wal.size(); ++n) {
        EXPECT_THROW(parse_copy_data(wal.substr(0, n)), decode_error) << n;
    }
    // An XLogData with an empty payload is well framed; the decoder rejects the payload.
    EXPECT_NO_THROW(parse_copy_data(wal));
    EXPECT_THROW(parse_copy_data("x"), decode_error);
}

TEST(ReplicationProtocol, BuildsStandbyStatus) {
    const auto bytes = build_standby_status({.write = 0x0102030405060708,
                                             .flush = 0x10,
                                             .apply = 0x20,
                                             .clock = 0x7fff'0000'0000'0001,
                                             .reply_requested = true});
    ASSERT_EQ(bytes.size(), standby_status_size);
    EXPECT_EQ(bytes[0], 'r');
    EXPECT_EQ(bytes.substr(1, 8), be64(0x0102030405060708));
    EXPECT_EQ(bytes.substr(9, 8), be64(0x10));
    EXPECT_EQ(bytes.substr(17, 8), be64(0x20));
    EXPECT_EQ(bytes.substr(25, 8), be64(0x7fff'0000'0000'0001));
    EXPECT_EQ(bytes[33], '\1');
    EXPECT_EQ(build_standby_status({}).back(), '\0');
}

TEST(PgClock, EpochConversions) {
    using namespace std::chrono;
    const auto y2k = system_clock::time_point(seconds(pg_epoch_offset_seconds));
    EXPECT_EQ(to_pg_epoch_micros(y2k), 0);
    EXPECT_EQ(to_pg_epoch_micros(y2k + microseconds(1500)), 1500);
    EXPECT_EQ(from_pg_epoch_micros(1500), y2k + microseconds(1500));
    const int64_t now = now_pg_epoch_micros();
    EXPECT_GT(now, 700'000'000'000'000);  // after 2022
    EXPECT_LT(now, 3'000'000'000'000'000);
}
