// pg_error: a failed libpq call or SQL statement, with its SQLSTATE so callers can tell
// "lock not available" from "connection lost" without parsing messages.
#pragma once

#include <exception>
#include <string>

#include "partshift/error.hpp"

namespace partshift::pg {

class pg_error : public partshift::runtime_error {
  public:
    pg_error(const std::string& message, std::string sqlstate)
        : partshift::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    // Class 08 (connection exception) and the admin-shutdown codes mean "reconnect and retry".
    bool is_connection_loss() const noexcept {
        return sqlstate_.empty() || sqlstate_.rfind("08", 0) == 0 || sqlstate_ == "57P01" ||
               sqlstate_ == "57P02" || sqlstate_ == "57P03";
    }

  private:
    std::string sqlstate_;
};

// with_context: the failure `cause` with `prefix` before its message, saying where it
// happened ("copy of chunk 7 [(1), (5000)) failed: "). A pg_error keeps its SQLSTATE, so a
// caller further up can still tell a lost connection (and wait for the server) from a real
// failure; anything else becomes a partshift::runtime_error.
std::exception_ptr with_context(const std::string& prefix, std::exception_ptr cause);

namespace sqlstate {
inline constexpr const char* lock_not_available = "55P03";
inline constexpr const char* object_in_use = "55006";
inline constexpr const char* object_not_in_prerequisite_state = "55000";
inline constexpr const char* undefined_table = "42P01";
inline constexpr const char* duplicate_object = "42710";
inline constexpr const char* insufficient_privilege = "42501";
inline constexpr const char* disk_full = "53100";
inline constexpr const char* query_canceled = "57014";
}  // namespace sqlstate

}  // namespace partshift::pg
