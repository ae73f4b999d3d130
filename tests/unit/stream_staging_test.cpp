// Streamed transactions (pgoutput protocol 2): the on-disk staging of their changes until the
// Stream Commit (spool/stream_staging.hpp), and the streamer turning a captured PostgreSQL 15
// stream (tests/fixtures/pgoutput/proto2_stream.hex) into whole transactions in commit order.
// No server.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "partshift/base/unique_fd.hpp"
#include "partshift/spool/stream_staging.hpp"
#include "partshift/stream/pgoutput_decoder.hpp"
#include "partshift/stream/streamer.hpp"
#include "pgoutput_fixture.hpp"
#include "streamer_feed.hpp"
#include "temp_directory.hpp"

using namespace partshift;
using namespace partshift::stream;
using partshift::testing::recording_sink;
using partshift::testing::temp_dir;
using partshift::testing::xlog_frame;

namespace {

tuple row(int key, const std::string& value) {
    return {{tuple_value::kind::text, std::to_string(key)}, {tuple_value::kind::text, value}};
}

insert_msg insert(uint32_t xid, int key, const std::string& value = "v") {
    return insert_msg{xid, 16384, row(key, value)};
}

relation_msg relation(uint32_t xid, const std::string& name) {
    relation_msg r;
    r.xid = xid;
    r.relid = 16384;
    r.nspname = "public";
    r.relname = name;
    r.columns = {{true, "id", 23, -1}, {false, "v", 25, -1}};
    return r;
}

// replayed: what replay hands back, as "R:name" and "I:key" items.
std::vector<std::string> replayed(spool::stream_staging& staging, uint32_t xid) {
    std::vector<std::string> out;
    staging.replay(xid, [&](const message& m) {
        if (auto* r = std::get_if<relation_msg>(&m)) out.push_back("R:" + r->relname);
        if (auto* i = std::get_if<insert_msg>(&m)) out.push_back("I:" + i->new_tuple[0].data);
    });
    return out;
}

std::size_t files_in(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

// Two transactions streamed side by side come back apart, in the order each was streamed;
// nothing of them stays on disk once replayed or aborted. A tiny write buffer puts most of
// each on disk.
TEST(StreamStaging, InterleavedTransactionsReplayApartAndLeaveNothingBehind) {
    temp_dir dir;
    spool::stream_staging staging(dir.path() / "streamed", 64);
    staging.start(700, true);
    staging.append(700, relation(700, "t"));
    for (int k = 1; k <= 50; ++k) staging.append(700, insert(700, k));
    staging.start(701, true);
    staging.append(701, relation(701, "t"));
    for (int k = 1000; k < 1010; ++k) staging.append(701, insert(701, k));
    staging.start(700, false);
    staging.append(700, insert(700, 51));
    EXPECT_EQ(staging.open_transactions(), 2u);
    EXPECT_GT(staging.staged_bytes(), 50u * 8);

    staging.abort(701, 701);
    const auto items = replayed(staging, 700);
    ASSERT_EQ(items.size(), 52u);
    EXPECT_EQ(items.front(), "R:t");
    EXPECT_EQ(items[1], "I:1");
    EXPECT_EQ(items.back(), "I:51");
    EXPECT_EQ(staging.open_transactions(), 0u);
    EXPECT_EQ(staging.staged_bytes(), 0u);
    EXPECT_EQ(files_in(dir.path() / "streamed"), 0u);
}

// ROLLBACK TO SAVEPOINT: the subtransaction's changes go, with its nested subtransaction's,
// whether they were still buffered or already written; the changes before it and after it
// stay. A Relation message sent inside the aborted part is kept (the server sends it once per
// transaction, and the later changes count on it).
TEST(StreamStaging, ASubtransactionAbortCutsItsChangesAndKeepsItsRelationMessage) {
    for (std::size_t buffer : {std::size_t{32}, std::size_t{1} << 20}) {
        temp_dir dir;
        spool::stream_staging staging(dir.path() / "streamed", buffer);
        staging.start(800, true);
        staging.append(800, insert(800, 1));
        staging.append(800, relation(801, "renamed"));  // first sent inside the savepoint
        staging.append(800, insert(801, 2));
        staging.append(800, insert(802, 3));  // a nested savepoint's
        staging.append(800, insert(801, 4));
        const auto before_abort = staging.staged_bytes();
        staging.abort(800, 801);
        EXPECT_LT(staging.staged_bytes(), before_abort);
        staging.abort(800, 803);  // a subtransaction that streamed nothing: no effect
        staging.append(800, insert(804, 5));
        staging.append(800, insert(800, 6));
        EXPECT_EQ(replayed(staging, 800),
                  (std::vector<std::string>{"I:1", "R:renamed", "I:5", "I:6"}))
            << "buffer " << buffer;
    }
}

// Replaying a large transaction gives back the disk blocks of what was read as it goes, so it
// never takes its size twice (staged and spooled) on disk.
TEST(StreamStaging, AReplayGivesBackWhatItHasRead) {
    temp_dir dir;
    {
        base::unique_fd probe(::open((dir.path() / "probe").c_str(), O_RDWR | O_CREAT, 0600));
        ASSERT_TRUE(probe);
        ASSERT_EQ(::ftruncate(probe.get(), 1 << 16), 0);
        if (::fallocate(probe.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096) != 0)
            GTEST_SKIP() << "the file system of " << dir.path() << " cannot punch holes";
    }
    spool::stream_staging staging(dir.path() / "streamed", 1 << 16, 1 << 20);
    staging.start(950, true);
    const std::string value(1000, 'x');
    for (int k = 0; k < 8000; ++k) staging.append(950, insert(950, k, value));
    const auto path = dir.path() / "streamed" / "950.stream";
    auto allocated = [&] {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_blocks) * 512 : -1;
    };
    int64_t first = -1, least = -1;
    int replayed_rows = 0;
    staging.replay(950, [&](const message&) {
        if (replayed_rows++ % 500 != 0) return;
        const auto now = allocated();
        if (first < 0) first = now;
        least = least < 0 ? now : std::min(least, now);
    });
    EXPECT_EQ(replayed_rows, 8000);
    EXPECT_GT(first, 7'000'000);
    EXPECT_LT(least, first / 2) << "first " << first << ", least " << least;
}

// A first segment starts the transaction afresh (the server streams it again from its start
// after a reconnect); a new staging removes what a killed run left.
TEST(StreamStaging, AFirstSegmentAndANewStagingStartAfresh) {
    temp_dir dir;
    {
        spool::stream_staging staging(dir.path() / "streamed", 16);
        staging.start(900, true);
        staging.append(900, insert(900, 1));
        staging.start(900, true);
        staging.append(900, insert(900, 2));
        EXPECT_EQ(replayed(staging, 900), (std::vector<std::string>{"I:2"}));
        staging.start(901, true);
        staging.append(901, insert(901, 3));
        // What a killed run leaves: its file stays.
        std::filesystem::copy_file(dir.path() / "streamed" / "901.stream",
                                   dir.path() / "left.stream");
    }
    std::filesystem::rename(dir.path() / "left.stream", dir.path() / "streamed" / "901.stream");
    spool::stream_staging again(dir.path() / "streamed");
    EXPECT_EQ(files_in(dir.path() / "streamed"), 0u);
    EXPECT_EQ(again.open_transactions(), 0u);
    EXPECT_TRUE(replayed(again, 901).empty());
}

// The captured stream: (a) a streamed insert, committed; (b) one rolled back; (c) one with a
// ROLLBACK TO SAVEPOINT and an update after it, committed; (d) a small plain one. The sink gets
// (a), (c) without the savepoint's rows, and (d), each whole between its Begin and Commit, in
// commit order, the Begin carrying the commit LSN as a protocol 1 Begin does.
TEST(StreamerStreamedTransactions, TheCapturedStreamReachesTheSinkAsWholeTransactions) {
    const auto fixture = partshift::testing::load_fixture("proto2_stream.hex");
    // What the sink must get, read from the fixture as the server sent it.
    std::vector<stream_commit_msg> commits;
    std::set<uint32_t> aborted_subxacts;
    std::map<uint32_t, std::vector<int>> keys_by_block;  // inserted keys per toplevel xid
    {
        std::optional<uint32_t> block;
        for (const auto& f : fixture) {
            const auto m = decode_pgoutput(f.bytes, block.has_value());
            if (auto* s = std::get_if<stream_start_msg>(&m)) block = s->xid;
            if (std::holds_alternative<stream_stop_msg>(m)) block.reset();
            if (auto* c = std::get_if<stream_commit_msg>(&m)) commits.push_back(*c);
            if (auto* a = std::get_if<stream_abort_msg>(&m); a && a->xid != a->subxid)
                aborted_subxacts.insert(a->subxid);
        }
    }
    ASSERT_EQ(commits.size(), 2u);
    ASSERT_EQ(aborted_subxacts.size(), 1u);
    std::size_t expected_inserts = 0;
    {
        std::optional<uint32_t> block;
        for (const auto& f : fixture) {
            const auto m = decode_pgoutput(f.bytes, block.has_value());
            if (auto* s = std::get_if<stream_start_msg>(&m)) block = s->xid;
            if (std::holds_alternative<stream_stop_msg>(m)) block.reset();
            auto* i = std::get_if<insert_msg>(&m);
            if (!i) continue;
            const bool committed = !block || *block == commits[0].xid || *block == commits[1].xid;
            if (committed && !aborted_subxacts.count(i->xid.value_or(0))) ++expected_inserts;
        }
    }

    temp_dir dir;
    spool::stream_staging staging(dir.path() / "streamed", 4096);
    recording_sink sink;
    base::progress progress;
    std::atomic<bool> stop{false};
    streamer s({"", "slot", "pub", 0}, sink, progress, stop, &staging);
    bool reply_now = false;
    for (const auto& m : fixture) s.handle_frame(xlog_frame(m.lsn, m.bytes), reply_now);

    // Three transactions, whole: B ... C, nothing between them.
    std::vector<begin_msg> begins;
    std::vector<commit_msg> ends;
    std::size_t inserts = 0, updates = 0;
    bool open = false;
    for (const auto& m : sink.messages) {
        if (auto* b = std::get_if<begin_msg>(&m)) {
            EXPECT_FALSE(open);
            open = true;
            begins.push_back(*b);
        } else if (auto* c = std::get_if<commit_msg>(&m)) {
            EXPECT_TRUE(open);
            open = false;
            ends.push_back(*c);
        } else {
            EXPECT_TRUE(open) << message_type(m);
            if (auto* i = std::get_if<insert_msg>(&m)) {
                ++inserts;
                EXPECT_NE(i->new_tuple[1].data, std::string(100, 's'));  // the savepoint's
            }
            if (std::holds_alternative<update_msg>(m)) ++updates;
        }
    }
    ASSERT_EQ(begins.size(), 3u) << sink.kinds;
    ASSERT_EQ(ends.size(), 3u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(begins[i].final_lsn, commits[i].commit_lsn);
        EXPECT_EQ(begins[i].xid, commits[i].xid);
        EXPECT_EQ(ends[i].commit_lsn, commits[i].commit_lsn);
        EXPECT_EQ(ends[i].end_lsn, commits[i].end_lsn);
    }
    EXPECT_LT(ends[1].end_lsn, ends[2].end_lsn);
    // The streamed transactions open with the relation; the small one relies on it.
    EXPECT_EQ(sink.kinds.substr(0, 2), "BR");
    EXPECT_EQ(sink.kinds.substr(sink.kinds.size() - 3), "BIC");
    EXPECT_EQ(inserts, expected_inserts);
    EXPECT_GT(inserts, 40u);
    EXPECT_EQ(updates, 1u);
    EXPECT_EQ(staging.open_transactions(), 0u);
    EXPECT_EQ(progress.changes_spooled.load(), inserts + updates);
}

// Streamed messages on a session that did not ask for streaming are a protocol error.
TEST(StreamerStreamedTransactions, StreamedMessagesWithoutStagingStopTheStream) {
    const auto fixture = partshift::testing::load_fixture("proto2_stream.hex");
    recording_sink sink;
    base::progress progress;
    std::atomic<bool> stop{false};
    streamer s({"", "slot", "pub", 0}, sink, progress, stop);
    bool reply_now = false;
    try {
        for (const auto& m : fixture) s.handle_frame(xlog_frame(m.lsn, m.bytes), reply_now);
        FAIL() << "no error";
    } catch (const partshift::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("streaming is off"), std::string::npos) << e.what();
    }
}
