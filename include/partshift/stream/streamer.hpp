// streamer: reads the job's slot over a replication connection, decodes pgoutput and appends
// the changes to a change_sink (the spool), acknowledging durable positions to the server.
// Keepalive replies and status updates are sent from the same loop that reads, and the loop
// never waits on apply, so the walsender never times out behind a slow applier (DESIGN §4).
#pragma once

#include <utility>

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "partshift/base/progress.hpp"
#include "partshift/stream/change_sink.hpp"
#include "partshift/stream/restart_point.hpp"
#include "partshift/stream/streamed_transactions.hpp"

namespace partshift::pg {
class async_connection;
}

namespace partshift::stream {

struct streamer_options {
    std::string dsn;
    std::string slot_name;
    std::string publication;
    lsn_t start_lsn = 0;  // L0 for a new job
    // pgoutput's origin 'none' (PostgreSQL 16+): changes written by sessions with a
    // replication origin (partshift's own copy and apply sessions) are skipped before they
    // are decoded. Only for a job whose row says so (stream/origin_filter.hpp).
    bool origin_none = false;
    std::chrono::milliseconds status_interval{1000};
    // Under a steady stream of commits the sink is fsynced at most this often (group commit):
    // an fsync per source commit competes with the source's own commits for the disk. The
    // applier reads published (written, not yet fsynced) data at once; only the slot's
    // acknowledgement waits for the fsync.
    std::chrono::milliseconds sync_interval{100};
    // A busy walsender sends every pgoutput message (Begin, each change, Commit) in a packet of
    // its own: read at once, each costs a wakeup, a recv and a spool write (4-5 per source
    // transaction, most of partshift's CPU while following). While the stream is busy, the
    // read waits this long after the socket turns readable, so what arrives meanwhile is read
    // in one go. Zero reads at once. Not when the stream was quiet (a cutover's fence after
    // the writers stopped is read at once).
    std::chrono::microseconds read_coalesce{2000};
    std::chrono::seconds max_backoff{30};
    // At a stop the job resumes from (this says whether it will; unset: never), on PostgreSQL
    // 16+: the slot's restart point is moved up to the stop before the stream ends, so the
    // resume does not decode again the WAL before it (stream/restart_point.hpp). Bounded by
    // restart_point_budget; skipped when the stream is far behind.
    std::function<bool()> resumes_after_stop;
    std::chrono::milliseconds restart_point_budget{3000};
};

class streamer {
  public:
    // With `streamed`, large transactions are streamed before their commit (pgoutput
    // protocol 2, PostgreSQL 14+) and staged there; without, the server spills them to
    // pg_replslot/ and sends them whole at their commit (protocol 1).
    streamer(streamer_options options, change_sink& sink, base::progress& progress,
             const std::atomic<bool>& stop, streamed_transactions* streamed = nullptr);

    // run streams until stop is set; reconnects with backoff when the server goes away.
    // Throws on errors that retrying cannot fix (slot lost, decode errors, sink errors).
    boost::asio::awaitable<void> run();

    // handle_frame: one CopyData frame from the walsender into the sink; reply_now is set when
    // the server asks for a reply. Public so unit tests can feed captured or hand-made frames
    // without a server; run() is the only caller otherwise.
    void handle_frame(std::string_view frame, bool& reply_now);

  private:
    boost::asio::awaitable<void> stream_once();
    boost::asio::awaitable<void> send_status(pg::async_connection& conn, bool request_reply);
    // stop_step: once stop is set, the next step of moving the slot's restart point up
    // (restart_point.hpp); true when the stream may end now.
    boost::asio::awaitable<bool> stop_step(pg::async_connection& conn);
    // rest_if_paced: while the catch-up is paced (--catch-up-pace), waits out the rest of the
    // slice without reading (base/catch_up_pace.hpp).
    boost::asio::awaitable<void> rest_if_paced(pg::async_connection& conn);
    void handle_message(const message& msg);
    // handle_streamed: the messages of protocol 2's streamed transactions; false for others.
    bool handle_streamed(const message& msg);
    void commit_streamed(const stream_commit_msg& commit);
    // replay_slice: the next messages (at most max_messages) of the committed streamed
    // transaction being handed to the sink, then its Commit; true when none is left.
    bool replay_slice(std::size_t max_messages);
    void note_staged();  // the staged transactions into progress_ (and the log, as they grow)
    lsn_t flush_sink();

    streamer_options options_;
    change_sink& sink_;
    base::progress& progress_;
    const std::atomic<bool>& stop_;
    streamed_transactions* streamed_;
    bool streaming_ = false;              // this session asked for streaming
    std::optional<uint32_t> stream_xid_;  // inside a Stream Start ... Stop block of this xid
    // The staged bytes of streamed transactions are logged each time they grow by this much.
    static constexpr uint64_t staged_report_step = uint64_t{256} << 20;
    uint64_t next_staged_report_ = staged_report_step;
    // The committed streamed transaction being handed to the sink. stream_once hands it over
    // in slices; handle_frame alone (tests) at once.
    std::optional<stream_commit_msg> replaying_;
    uint64_t replayed_ = 0;
    bool slice_replays_ = false;

    bool in_transaction_ = false;
    bool skipping_ = false;  // a transaction already in the sink, sent again
    bool unflushed_commit_ = false;
    lsn_t last_commit_end_ = 0;  // end LSN of the last commit appended
    lsn_t acknowledged_ = 0;     // never goes backwards
    lsn_t received_ = 0;
    std::chrono::steady_clock::time_point next_position_record_{};
    std::chrono::steady_clock::time_point next_sync_{};
    std::chrono::steady_clock::time_point last_data_at_{};  // when the socket was last readable
    // when a read last took (nearly) all libpq's input buffer holds: a backlog, not a trickle
    std::chrono::steady_clock::time_point last_full_read_at_{};
    // The transaction being appended to the sink, and how many of its change records (changes,
    // truncates, messages) are in already. A connection lost inside it leaves those records
    // in the spool; the server sends the whole transaction again, so its first
    // `resume_skip_` change records are skipped and the rest appended after them.
    lsn_t open_final_lsn_ = 0;
    uint64_t open_changes_ = 0;
    std::optional<lsn_t> resume_final_lsn_;
    uint64_t resume_skip_ = 0;
    // The open transaction's Begin, held back until something of the transaction arrives.
    // Before PostgreSQL 15, pgoutput sends a Begin/Commit pair for every transaction in the
    // database — partshift's own checkpoint and status writes too, each of which would be
    // applied and write a checkpoint again, forever. An empty pair is dropped; its position
    // is acknowledged as an idle one.
    std::optional<begin_msg> held_begin_;

    // The stop's restart point (stop_step): the records still to log, the one being waited
    // for (acknowledged past it, it is done), and when to give up waiting.
    struct restart_settle {
        int records_left = 2;
        std::optional<lsn_t> waiting_for;
        std::chrono::steady_clock::time_point deadline;
        bool finished = false;
    };
    std::optional<restart_settle> settle_;
    restart_point_logger restart_points_;
};

}  // namespace partshift::stream
