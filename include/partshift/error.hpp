// Error types that cross role boundaries. Each carries the exit code the CLI maps it to
// (DESIGN.md §5), so the mapping lives in one place: the type of the exception.
#pragma once

#include <stdexcept>
#include <string>

namespace partshift {

enum class exit_code : int {
    done = 0,
    runtime_failure = 1,
    bad_input = 2,
    preflight_failed = 3,
    cutover_not_performed = 4,
    wal_guard_stop = 5,
};

// error is a failure with a one-line message a user can act on.
class error : public std::runtime_error {
  public:
    error(exit_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
    exit_code code() const noexcept { return code_; }

  private:
    exit_code code_;
};

// usage_error: bad options or bad input (nonexistent table, unsupported spec). Exit 2.
class usage_error : public error {
  public:
    explicit usage_error(const std::string& message) : error(exit_code::bad_input, message) {}
};

// preflight_error: the server or the table is not ready; the message says how to fix it. Exit 3.
class preflight_error : public error {
  public:
    explicit preflight_error(const std::string& message)
        : error(exit_code::preflight_failed, message) {}
};

// cutover_error: the lock was not granted in time; the source is untouched. Exit 4.
class cutover_error : public error {
  public:
    explicit cutover_error(const std::string& message)
        : error(exit_code::cutover_not_performed, message) {}
};

// wal_guard_error: the run stopped itself before the server would invalidate the job's slot
// for the WAL it pins (run --slot-wal-limit, max_slot_wal_keep_size; checkpoint kept), or the
// server's slot policy already invalidated it (the message says "start over"). Exit 5.
class wal_guard_error : public error {
  public:
    explicit wal_guard_error(const std::string& message)
        : error(exit_code::wal_guard_stop, message) {}
};

// runtime_error: anything else that stops a job (divergence, disk full). Exit 1.
class runtime_error : public error {
  public:
    explicit runtime_error(const std::string& message)
        : error(exit_code::runtime_failure, message) {}
};

}  // namespace partshift
