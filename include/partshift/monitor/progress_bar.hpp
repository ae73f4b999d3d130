// progress_bar: shows the copy counters while the copy runs. On a terminal (stderr is a TTY)
// it redraws one line every 250 ms; otherwise it logs one info line every 10 s, so log files
// do not fill with carriage returns. Reads the atomics only; must not change them.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "partshift/base/progress.hpp"

namespace partshift::monitor {

// format_copy_progress renders "rows 120000/200000 (60.0%), 85000 rows/s, ETA 1s, chunks
// 12/20". rate is rows per second; pure, for tests.
std::string format_copy_progress(int64_t rows, int64_t estimate, double rate, int64_t chunks_done,
                                 int64_t chunks_total);

// show_copy_progress runs until `finished` is set, then draws a last line and returns.
boost::asio::awaitable<void> show_copy_progress(const base::progress& counters,
                                                const std::atomic<bool>& finished);

}  // namespace partshift::monitor
