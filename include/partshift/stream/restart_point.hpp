// restart_point: moving a logical slot's restart point up to the present when a run stops and
// the job will resume from the slot.
//
// Why: the walsender moves a slot's restart_lsn only when it decodes an xl_running_xacts record
// and the client then confirms past it, and the server logs one every 15 s at most. A stopped
// slot's restart_lsn is typically 15-25 s of WAL behind its confirmed position (measured in
// session 20: up to 457 MB on a busy source), and a resume decodes all of it again before the
// first new change: a core's work, while the application's clients queue. PostgreSQL 16 logs
// that record on demand (pg_log_standby_snapshot()).
//
// Two records, not one: the restart point a record proposes is where the oldest transaction
// running at it may be decoded from, which is the record *before* that transaction began. On
// a busy source some transaction is always running, so the first record moves the restart
// point up to the previous one (the bgwriter's, up to 15 s back) and the second up to the
// first. The server also ignores a record while the previous one is not yet confirmed, so
// each is confirmed before the next is logged.
//
// Must not: read the stream or acknowledge anything (the streamer does, in its own loop).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::pg {
class async_connection;
}

namespace partshift::stream {

// restart_point_logger: the plain (not replication) session that logs the records, opened on
// first use and kept for the next. Any failure (an older server, a role without EXECUTE on
// pg_log_standby_snapshot(), the server gone) ends it quietly: a resume then decodes from
// the older restart point, as it always did, and loses nothing.
class restart_point_logger {
  public:
    explicit restart_point_logger(std::string dsn);
    ~restart_point_logger();
    restart_point_logger(const restart_point_logger&) = delete;
    restart_point_logger& operator=(const restart_point_logger&) = delete;

    // log_record: logs an xl_running_xacts record and returns the WAL position after it, or
    // nullopt (said at debug level why) when it cannot.
    boost::asio::awaitable<std::optional<lsn_t>> log_record();

  private:
    std::string dsn_;
    std::unique_ptr<pg::async_connection> conn_;
    bool unavailable_ = false;
};

}  // namespace partshift::stream
