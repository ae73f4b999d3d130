// streamer: the replication read loop. Owns the replication connection; does no apply work
// and no SQL on the target.
#include "partshift/stream/streamer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "partshift/base/catch_up_pace.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/pg/session_settings.hpp"
#include "partshift/stream/pg_clock.hpp"
#include "partshift/stream/pgoutput_decoder.hpp"
#include "partshift/stream/replication_protocol.hpp"

namespace partshift::stream {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

// Flush when this much is buffered even inside a long run of data, to bound what is
// re-read after a crash and how long the slot waits for an acknowledgement.
constexpr uint64_t flush_threshold_bytes = 8 << 20;

// A committed streamed transaction is handed to the sink this many messages at a time.
constexpr std::size_t replay_slice_messages = 5000;

// Fewer frames than this in one read is a trickle, not a backlog.
constexpr int trickle_frames = 32;

// A read of this many bytes took (nearly) all libpq's input buffer holds (16 kB): the socket
// held at least that much, so the walsender is ahead of us, not trickling.
constexpr std::size_t full_read_bytes = 12 * 1024;

// The stream counts as busy while data keeps coming within this gap; after a quieter spell
// the first message is read at once.
clock::duration busy_gap(std::chrono::microseconds coalesce) {
    return std::max<clock::duration>(std::chrono::milliseconds(10), 5 * coalesce);
}

}  // namespace

streamer::streamer(streamer_options options, change_sink& sink, base::progress& progress,
                   const std::atomic<bool>& stop, streamed_transactions* streamed)
    : options_(std::move(options)),
      sink_(sink),
      progress_(progress),
      stop_(stop),
      streamed_(streamed),
      streaming_(streamed != nullptr),
      restart_points_(options_.dsn) {}

asio::awaitable<void> streamer::run() {
    auto backoff = std::chrono::seconds(1);
    while (!stop_) {
        try {
            co_await stream_once();
            backoff = std::chrono::seconds(1);
        } catch (const pg::pg_error& e) {
            // Stopping already, moving the restart point up: that is a saving, not a need.
            if (settle_ && !settle_->finished) {
                spdlog::warn(
                    "stopping: the replication connection ended ({}); the slot's "
                    "restart point may stay behind the stop",
                    e.what());
                break;
            }
            if (!e.is_connection_loss()) throw;
            spdlog::warn("replication connection lost ({}); reconnecting in {}s", e.what(),
                         backoff.count());
        }
        if (stop_) break;
        asio::steady_timer wait(co_await asio::this_coro::executor, backoff);
        co_await wait.async_wait(asio::use_awaitable);
        backoff = std::min(backoff * 2, options_.max_backoff);
    }
    flush_sink();
}

lsn_t streamer::flush_sink() {
    // Nothing pending: everything the server sent up to `received_` is in the sink, including
    // transactions pgoutput filtered out, so the slot may move there (idle acknowledgement) —
    // once the sink records that position durably (at most once a second: an fsync each).
    // Not idle while a transaction cut off by a reconnect waits to be sent again: half of it
    // is in the sink.
    const bool idle = !in_transaction_ && !resume_final_lsn_ && sink_.unflushed_bytes() == 0;
    if (idle && received_ > sink_.durable_position() && clock::now() >= next_position_record_) {
        sink_.record_position(received_);
        next_position_record_ = clock::now() + std::chrono::seconds(1);
    }
    lsn_t durable = sink_.flush();
    unflushed_commit_ = false;
    if (durable > 0) progress_.spooled_commit_lsn = durable;
    if (idle && received_ > progress_.complete_lsn) progress_.complete_lsn = received_;
    acknowledged_ = std::max({acknowledged_, durable, sink_.durable_position()});
    progress_.spooled_lsn = acknowledged_;
    progress_.changed.notify();  // verify waits for the spool to pass a position
    return durable;
}

asio::awaitable<void> streamer::stream_once() {
    auto conn = co_await pg::async_connection::connect(options_.dsn, "partshift-stream", true);
    // pgoutput sends values as the walsender's output functions print them, and the applier
    // hands that text to another session: a role's or database's DateStyle or
    // extra_float_digits = 0 would otherwise change (or round) every replayed value.
    co_await pg::pin_text_formats(conn);
    lsn_t start = std::max({options_.start_lsn, acknowledged_, sink_.last_commit_end_lsn()});
    // A reconnect starts a fresh session: a transaction cut off mid-way is sent again whole.
    // What of it the sink already holds stays there; the resent copy continues it.
    if (in_transaction_ && !skipping_ && !held_begin_) {
        resume_final_lsn_ = open_final_lsn_;
        resume_skip_ = open_changes_;
        spdlog::info(
            "stream: reconnecting inside the transaction committed at {} ({} changes "
            "already spooled); continuing it when the server resends it",
            format_lsn(open_final_lsn_), open_changes_);
    }
    in_transaction_ = false;
    skipping_ = false;
    held_begin_.reset();  // nothing of it reached the sink: it comes again whole
    // Streamed transactions come again from their start too.
    stream_xid_.reset();
    replaying_.reset();  // what of it is in the sink is continued as above
    slice_replays_ = true;
    if (streamed_) {
        streamed_->clear();
        note_staged();
    }
    // Protocol 2 (PostgreSQL 14+) streams a transaction that outgrows the walsender's
    // logical_decoding_work_mem instead of spilling it to pg_replslot/ and reading it back.
    streaming_ = streamed_ != nullptr && conn.server_version() >= 140000;
    std::string sql = "START_REPLICATION SLOT " + pg::escape_identifier(options_.slot_name) +
                      " LOGICAL " + format_lsn(start) + " (proto_version '" +
                      (streaming_ ? "2', streaming 'on'" : "1'") + ", publication_names " +
                      // publication_names is a quoted list inside a string literal.
                      "'\"" + options_.publication + "\"', messages 'true'" +
                      (options_.origin_none ? ", origin 'none')" : ")");
    try {
        co_await conn.exec(sql);
    } catch (const pg::pg_error& e) {
        // The server invalidated the slot (as throttle's check of it would find): the guard's
        // exit, 5, as every invalidated slot.
        if (e.sqlstate() == pg::sqlstate::object_not_in_prerequisite_state)
            throw partshift::wal_guard_error(
                "replication slot " + options_.slot_name + " can no longer be used (" + e.what() +
                "); the server removed WAL it needed. Run 'partshift abort' and start again");
        throw;
    }
    spdlog::info("streaming from slot {} at {}{}{}", options_.slot_name, format_lsn(start),
                 options_.origin_none ? " (partshift's own writes skipped by origin)" : "",
                 streaming_ ? "; large transactions streamed before their commit" : "");

    auto next_status = clock::now();
    while (true) {
        auto status_interval = options_.status_interval;
        if (stop_) {
            const bool stop_now = co_await stop_step(conn);
            if (stop_now) break;
            // Moving the restart point up: hear the walsender's position often, and acknowledge
            // an idle position at once, not a second later.
            status_interval = std::chrono::milliseconds(50);
            next_status = std::min(next_status, clock::now() + status_interval);
            next_position_record_ = {};
        }
        if (replaying_) {
            // A committed streamed transaction goes into the sink a slice at a time: between
            // slices the applier applies and the server hears from us (a transaction of
            // millions of rows takes longer than wal_sender_timeout to copy).
            replay_slice(replay_slice_messages);
            if (clock::now() >= next_status) {
                co_await send_status(conn, true);
                next_status = clock::now() + status_interval;
            }
            if (replaying_) {
                sink_.publish();
                auto executor = co_await asio::this_coro::executor;
                co_await asio::post(executor, asio::use_awaitable);
                continue;
            }
        }
        bool reply_now = false;
        bool ended = false;
        // Drain everything libpq already has before waiting again (PGOUTPUT.md), unless a
        // committed streamed transaction is to be handed over first (the frames after it wait
        // in libpq's buffer).
        int frames = 0;
        std::size_t bytes = 0;
        while (auto chunk = conn.try_read_copy(ended)) {
            ++frames;
            bytes += chunk->view().size();
            handle_frame(chunk->view(), reply_now);
            if (sink_.unflushed_bytes() >= flush_threshold_bytes) flush_sink();
            if (replaying_) break;
        }
        if (bytes >= full_read_bytes) last_full_read_at_ = clock::now();
        if (replaying_) continue;
        if (ended) {
            co_await conn.finish_copy();
            throw pg::pg_error("the server ended the replication stream", "08006");
        }
        auto now = clock::now();
        if (unflushed_commit_ && now < next_sync_) {
            sink_.publish();  // the applier may go on; the fsync comes with the next one
        } else if (unflushed_commit_ || (!in_transaction_ && sink_.unflushed_bytes() == 0)) {
            lsn_t before = acknowledged_;
            if (unflushed_commit_) next_sync_ = now + options_.sync_interval;
            flush_sink();
            if (acknowledged_ != before) reply_now = true;
        } else {
            sink_.publish();  // inside a large transaction: the applier may start on it
        }
        if (reply_now || now >= next_status) {
            // Asking for a reply each interval gets a keepalive back, which carries the
            // server's position and keeps the lag figures fresh.
            co_await send_status(conn, now >= next_status);
            next_status = now + status_interval;
        }
        if (progress_.catch_up_paced && !stop_) co_await rest_if_paced(conn);
        auto wake = unflushed_commit_ ? std::min(next_status, next_sync_) : next_status;
        const bool readable =
            co_await conn.wait_readable_for(std::max(wake - clock::now(), clock::duration(0)));
        if (readable) {
            // A trickle of messages, one or a few a wakeup, the last moments ago: let the next
            // few arrive before reading (options_.read_coalesce says why). Never in a backlog,
            // though a read there can be short too (the one that empties the socket): the
            // walsender then waits on a full socket, and a pause stalls it: in samples of a
            // 200,000-transaction drain both were asleep 29% of the time (15% without it).
            const auto readable_at = clock::now();
            const auto gap = busy_gap(options_.read_coalesce);
            if (options_.read_coalesce.count() > 0 && frames < trickle_frames &&
                readable_at - last_data_at_ < gap && readable_at - last_full_read_at_ >= gap) {
                co_await conn.pause_unwatched(options_.read_coalesce);
            }
            last_data_at_ = readable_at;
            conn.consume_input();
        }
    }
    flush_sink();
    co_await send_status(conn, false);
}

asio::awaitable<void> streamer::send_status(pg::async_connection& conn, bool request_reply) {
    standby_status status;
    status.write = std::max(received_, acknowledged_);
    status.flush = acknowledged_;
    status.apply = acknowledged_;
    status.clock = now_pg_epoch_micros();
    status.reply_requested = request_reply;
    co_await conn.write_copy(build_standby_status(status));
}

asio::awaitable<bool> streamer::stop_step(pg::async_connection& conn) {
    if (!settle_) {
        settle_.emplace();
        settle_->deadline = clock::now() + options_.restart_point_budget;
        settle_->finished = !options_.resumes_after_stop || !options_.resumes_after_stop() ||
                            conn.server_version() < 160000;
    }
    auto& settle = *settle_;
    if (settle.finished) co_return true;
    if (settle.waiting_for) {
        if (acknowledged_ < *settle.waiting_for) {
            if (clock::now() < settle.deadline) co_return false;
            spdlog::info(
                "stopping: the stream did not reach {} within {} ms; the slot's restart point "
                "may stay behind the stop, and the resume decode again the WAL after it",
                format_lsn(*settle.waiting_for), options_.restart_point_budget.count());
            settle.finished = true;
            co_return true;
        }
        // Confirmed past it: the server takes the next record's restart point only once it
        // has heard so (restart_point.hpp), so say it now and give it a moment to read it.
        co_await send_status(conn, false);
        asio::steady_timer heard(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
        co_await heard.async_wait(asio::use_awaitable);
        if (--settle.records_left == 0) {
            spdlog::info(
                "stopping: acknowledged past a restart point logged at {}; the resume decodes "
                "the WAL from about there, not from the slot's older restart point",
                format_lsn(*settle.waiting_for));
            settle.finished = true;
            co_return true;
        }
    }
    const auto logged = co_await restart_points_.log_record();
    // Far behind, the walsender would take longer than the budget to get there: stop now.
    constexpr lsn_t far_behind = lsn_t{64} << 20;
    if (!logged || *logged > received_ + far_behind) {
        if (logged)
            spdlog::debug("stopping: the stream is {} MB behind; the restart point stays",
                          (*logged - received_) >> 20);
        settle.finished = true;
        co_return true;
    }
    settle.waiting_for = logged;
    co_return false;
}

asio::awaitable<void> streamer::rest_if_paced(pg::async_connection& conn) {
    const auto rest = base::paced_rest(progress_, clock::now());
    // The socket unread meanwhile: the walsender, blocked on it, rests too.
    if (rest.count() > 0) co_await conn.pause_unwatched(rest);
}

void streamer::handle_frame(std::string_view frame, bool& reply_now) {
    auto parsed = parse_copy_data(frame);
    if (auto* ka = std::get_if<keepalive>(&parsed)) {
        received_ = std::max(received_, ka->wal_end);
        progress_.received_lsn = received_;
        if (ka->reply_requested) reply_now = true;
        return;
    }
    auto& data = std::get<xlog_data>(parsed);
    // Relation and Type messages carry LSN 0 in the header: only move forward.
    received_ = std::max(received_, data.wal_end);
    progress_.received_lsn = received_;
    handle_message(decode_pgoutput(data.payload, /*in_stream_block=*/stream_xid_.has_value()));
}

bool streamer::handle_streamed(const message& msg) {
    const bool stream_message = std::holds_alternative<stream_start_msg>(msg) ||
                                std::holds_alternative<stream_stop_msg>(msg) ||
                                std::holds_alternative<stream_commit_msg>(msg) ||
                                std::holds_alternative<stream_abort_msg>(msg);
    if (!stream_xid_ && !stream_message) return false;
    if (!streaming_)
        throw partshift::runtime_error(
            "unexpected streamed-transaction message (streaming is off)");
    if (auto* start = std::get_if<stream_start_msg>(&msg)) {
        if (stream_xid_ || in_transaction_)
            throw partshift::runtime_error("a Stream Start inside another transaction");
        stream_xid_ = start->xid;
        streamed_->start(start->xid, start->first_segment);
    } else if (std::holds_alternative<stream_stop_msg>(msg)) {
        stream_xid_.reset();
    } else if (stream_xid_) {
        if (stream_message)
            throw partshift::runtime_error("a Stream Commit or Abort inside a Stream block");
        streamed_->append(*stream_xid_, msg);
    } else if (auto* abort = std::get_if<stream_abort_msg>(&msg)) {
        streamed_->abort(abort->xid, abort->subxid);
    } else {
        commit_streamed(std::get<stream_commit_msg>(msg));
    }
    note_staged();
    return true;
}

void streamer::note_staged() {
    const uint64_t staged = streamed_->staged_bytes();
    progress_.streamed_open = static_cast<int64_t>(streamed_->open_transactions());
    progress_.streamed_staged_bytes = static_cast<int64_t>(staged);
    // A transaction of millions of rows is invisible in the lag until it commits: say that it
    // is coming, and how much disk it takes, at each step of staged_report_step.
    if (staged < next_staged_report_ / 2) next_staged_report_ = staged_report_step;
    if (staged < next_staged_report_) return;
    spdlog::info(
        "stream: {} source transaction(s) still running are streamed ahead of their commit; "
        "{} MB staged in the spool's streamed/ directory",
        streamed_->open_transactions(), staged >> 20);
    next_staged_report_ = (staged / staged_report_step + 1) * staged_report_step;
}

void streamer::commit_streamed(const stream_commit_msg& commit) {
    if (commit.commit_lsn < sink_.last_commit_end_lsn()) {
        streamed_->discard(commit.xid);  // in the sink already: sent again after a reconnect
        return;
    }
    // The sink takes it as a transaction sent whole at its commit (protocol 1's way).
    handle_message(begin_msg{commit.commit_lsn, commit.commit_time, commit.xid});
    replaying_ = commit;
    replayed_ = 0;
    if (!slice_replays_) replay_slice(static_cast<std::size_t>(-1));
}

bool streamer::replay_slice(std::size_t max_messages) {
    if (!replaying_) return true;
    const bool done = streamed_->replay_some(
        replaying_->xid,
        [&](const message& m) {
            handle_message(m);
            ++replayed_;
            if (sink_.unflushed_bytes() >= flush_threshold_bytes) flush_sink();
        },
        max_messages);
    if (!done) return false;
    const auto commit = *replaying_;
    replaying_.reset();
    handle_message(commit_msg{commit.flags, commit.commit_lsn, commit.end_lsn, commit.commit_time});
    note_staged();
    // Most streamed transactions on a job's server are partshift's own copy chunks, whose
    // rows pgoutput filters out: nothing of them is staged.
    spdlog::log(replayed_ > 0 ? spdlog::level::info : spdlog::level::debug,
                "stream: transaction {} was streamed before its commit at {}; {} staged "
                "records spooled",
                commit.xid, format_lsn(commit.commit_lsn), replayed_);
    return true;
}

void streamer::handle_message(const message& msg) {
    if (handle_streamed(msg)) return;
    if (auto* begin = std::get_if<begin_msg>(&msg)) {
        in_transaction_ = true;
        // After a reconnect or a server crash the server may send transactions the sink
        // already holds; their commit LSN tells them apart.
        skipping_ = begin->final_lsn < sink_.last_commit_end_lsn();
        if (skipping_) return;
        if (resume_final_lsn_) {
            // The transaction cut off by the reconnect must come first, whole.
            if (begin->final_lsn != *resume_final_lsn_)
                throw partshift::runtime_error(
                    "after a reconnect the server sent the transaction committed at " +
                    format_lsn(begin->final_lsn) + " where the one committed at " +
                    format_lsn(*resume_final_lsn_) +
                    " was expected again; stop and run again to resume from the spool");
            resume_final_lsn_.reset();
            return;  // its Begin is in the sink already
        }
        held_begin_ = *begin;  // appended with the transaction's first message
        open_final_lsn_ = begin->final_lsn;
        open_changes_ = 0;
        resume_skip_ = 0;
        return;
    }
    if (auto* commit = std::get_if<commit_msg>(&msg)) {
        if (held_begin_) {
            // An empty transaction: nothing to spool or apply (see held_begin_).
            held_begin_.reset();
        } else if (!skipping_) {
            if (resume_skip_ > 0)
                throw partshift::runtime_error(
                    "the transaction committed at " + format_lsn(open_final_lsn_) +
                    " came again with fewer changes than were spooled before the reconnect");
            sink_.append(msg);
            last_commit_end_ = commit->end_lsn;
            unflushed_commit_ = true;
            progress_.commits.received(commit->end_lsn, commit->commit_time);
        }
        in_transaction_ = false;
        skipping_ = false;
        return;
    }
    if (auto* lm = std::get_if<logical_message_msg>(&msg); lm && !lm->transactional) return;
    if (!in_transaction_) return;  // nothing else arrives outside a transaction
    if (skipping_) return;
    const bool is_change = !std::holds_alternative<relation_msg>(msg) &&
                           !std::holds_alternative<type_msg>(msg) &&
                           !std::holds_alternative<origin_msg>(msg);
    if (is_change && resume_skip_ > 0) {
        --resume_skip_;  // spooled before the reconnect
        return;
    }
    if (held_begin_) {
        sink_.append(*held_begin_);
        held_begin_.reset();
    }
    sink_.append(msg);
    if (is_change) {
        ++open_changes_;
        ++progress_.changes_spooled;
    }
}

}  // namespace partshift::stream
