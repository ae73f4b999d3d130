// session_settings: the settings the engine's own sessions need, in one place so the copier,
// the streamer and the applier set the same ones. Must not open connections or run anything
// but setting and reading session settings.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <string>

#include "partshift/pg/async_connection.hpp"

namespace partshift::pg {

// pin_text_formats sets what PostgreSQL's own apply worker asks of its walsender (DateStyle
// ISO, IntervalStyle postgres, extra_float_digits 3, client_encoding = the server encoding), so a
// role or database default such as DateStyle = 'SQL, DMY' or extra_float_digits = 0 cannot change a
// value that travels as text: the walsender's output and a lookup's result are parsed again by
// another session. One plain statement, so it also runs on a replication connection before
// START_REPLICATION.
asio::awaitable<void> pin_text_formats(async_connection& conn);

// require_replica_role sets session_replication_role = replica, so rows written by this
// session fire no foreign-key checks and no ordinary triggers on the target, and throws
// runtime_error naming `session` and the fix when the role may not set it. Silently writing
// with them on (or not writing at all) is the failure other tools shipped.
asio::awaitable<void> require_replica_role(async_connection& conn, const std::string& session);

}  // namespace partshift::pg
