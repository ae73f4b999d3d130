// Invariant 2, the acknowledgement half (DESIGN.md §2): the streamer tells the slot only about
// positions its sink reports durable, only at commit boundaries, never backwards, and idle
// keepalive positions too. The streamer runs against a real slot; its sink is a test double
// whose durability the test switches on and off, and a sampler watches the slot's
// confirmed_flush_lsn on the server the whole time.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "partshift/stream/slot_manager.hpp"
#include "partshift/stream/streamer.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

// gated_sink: holds what it is given in memory; while the gate is shut, flush() makes nothing
// new durable (as if fsync had not returned yet) and reports the old durable position.
class gated_sink : public stream::change_sink {
  public:
    void append(const stream::message& msg) override {
        std::lock_guard lock(mutex_);
        ++unflushed_;
        if (const auto* commit = std::get_if<stream::commit_msg>(&msg)) {
            last_commit_ = commit->end_lsn;
            commits_.push_back(commit->end_lsn);
        }
    }
    stream::lsn_t flush() override {
        std::lock_guard lock(mutex_);
        if (open_) {
            durable_ = last_commit_;
            durable_position_ = std::max(durable_position_, position_);
            unflushed_ = 0;
        }
        return durable_;
    }
    void record_position(stream::lsn_t lsn) override {
        std::lock_guard lock(mutex_);
        position_ = std::max(position_, lsn);
        ++unflushed_;
    }
    stream::lsn_t durable_position() const override {
        std::lock_guard lock(mutex_);
        return std::max(durable_, durable_position_);
    }
    uint64_t unflushed_bytes() const override {
        std::lock_guard lock(mutex_);
        return unflushed_;
    }
    stream::lsn_t last_commit_end_lsn() const override {
        std::lock_guard lock(mutex_);
        return last_commit_;
    }

    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
    }
    std::vector<stream::lsn_t> commits() const {
        std::lock_guard lock(mutex_);
        return commits_;
    }

  private:
    mutable std::mutex mutex_;
    bool open_ = false;
    uint64_t unflushed_ = 0;
    stream::lsn_t last_commit_ = 0;
    stream::lsn_t durable_ = 0;
    stream::lsn_t position_ = 0;
    stream::lsn_t durable_position_ = 0;
    std::vector<stream::lsn_t> commits_;
};

stream::lsn_t lsn_of(const std::string& text) {
    return stream::parse_lsn(text).value_or(0);
}

}  // namespace

TEST(Streamer, AcknowledgesOnlyDurableCommitsNeverBackwardsAndIdlePositions) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    auto conn = db.connect();
    conn.exec(
        "CREATE TABLE published (id int PRIMARY KEY, v text);"
        "CREATE TABLE unpublished (id serial PRIMARY KEY, v text);"
        "CREATE PUBLICATION acks FOR TABLE published");
    const std::string slot = "partshift_acks_" + std::to_string(getpid());
    stream::created_slot created;
    {
        boost::asio::io_context io;
        auto future = boost::asio::co_spawn(io, stream::create_slot(db.dsn(), slot, 120s),
                                            boost::asio::use_future);
        io.run();
        created = future.get();
    }
    auto confirmed = [&](pg::connection& c) {
        return lsn_of(c.query("SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
                              "WHERE slot_name = $1",
                              slot)
                          .get(0, 0));
    };
    const stream::lsn_t start = confirmed(conn);

    // Sampler: every value the server shows, for the never-backwards check.
    std::atomic<bool> sampling{true};
    std::vector<stream::lsn_t> samples{start};
    std::thread sampler([&] {
        auto c = db.connect();
        while (sampling) {
            samples.push_back(confirmed(c));
            std::this_thread::sleep_for(20ms);
        }
    });

    gated_sink sink;
    base::progress progress;
    std::atomic<bool> stop{false};
    stream::streamer_options options{db.dsn(), slot, "acks", created.consistent_point};
    options.status_interval = 200ms;
    stream::streamer streamer(options, sink, progress, stop);
    std::exception_ptr streamer_error;
    std::thread streaming([&] {
        boost::asio::io_context io;
        boost::asio::co_spawn(io, streamer.run(),
                              [&](std::exception_ptr e) { streamer_error = e; });
        io.run();
    });
    auto wait_until = [&](auto pred, const char* what) {
        for (int i = 0; i < 300 && !pred(); ++i) std::this_thread::sleep_for(50ms);
        EXPECT_TRUE(pred()) << "timed out waiting for " << what;
    };

    // 1. Three transactions reach the sink, which makes none durable: nothing is acknowledged,
    //    through many status intervals and keepalives.
    for (int i = 1; i <= 3; ++i)
        conn.exec("INSERT INTO published VALUES (" + std::to_string(i) + ", 'x')");
    wait_until([&] { return sink.commits().size() == 3; }, "three commits in the sink");
    // Until then the idle streamer acknowledged keepalive positions (other databases' WAL);
    // those lie before the first commit. From here on the position must not move.
    const stream::lsn_t frozen = confirmed(conn);
    EXPECT_LT(frozen, sink.commits().front());
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(confirmed(conn), frozen);

    // 2. Durable from now on: the next commit makes all four durable, and the slot moves to
    //    (at least) the last commit's end — a commit boundary the sink reported.
    sink.open();
    conn.exec("INSERT INTO published VALUES (4, 'x')");
    wait_until([&] { return sink.commits().size() == 4; }, "the fourth commit");
    const stream::lsn_t last_commit = sink.commits().back();
    wait_until([&] { return confirmed(conn) >= last_commit; }, "the durable commit acknowledged");

    // 3. Idle: writes the publication filters out move the server's WAL on; the streamer has
    //    nothing unflushed and acknowledges the keepalive position beyond the last commit.
    conn.exec("INSERT INTO unpublished (v) SELECT 'y' FROM generate_series(1, 1000)");
    const stream::lsn_t after_idle_writes =
        lsn_of(conn.exec("SELECT pg_current_wal_insert_lsn()::text").get(0, 0));
    wait_until([&] { return confirmed(conn) >= after_idle_writes; },
               "the idle position acknowledged");

    stop = true;
    streaming.join();
    sampling = false;
    sampler.join();
    if (streamer_error) std::rethrow_exception(streamer_error);

    // Every position the server showed: never backwards, and none inside the stretch the
    // sink held but had not made durable (from the first commit up to the durable one).
    ASSERT_GT(samples.size(), 10u);
    for (size_t i = 1; i < samples.size(); ++i)
        EXPECT_GE(samples[i], samples[i - 1]) << "confirmed_flush_lsn went backwards";
    const auto first_commit = sink.commits().front();
    for (auto s : samples)
        EXPECT_TRUE(s < first_commit || s >= last_commit)
            << "the slot was acknowledged at " << stream::format_lsn(s)
            << ", past a commit the sink had not made durable (" << stream::format_lsn(first_commit)
            << " .. " << stream::format_lsn(last_commit) << ")";
}
