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

// copy_figures: what the progress line shows, as the copier measured it (progress).
struct copy_figures {
    int64_t rows_committed = 0;
    int64_t rows_in_flight = 0;  // an estimate (monitor/estimates): shown with "~"
    int64_t chunks_running = 0;
    int64_t estimate = 0;      // <= 0: unknown
    double rate = 0;           // rows/s over the last 30 s
    double seconds_left = -1;  // -1: unknown
    int64_t chunks_done = 0;
    int64_t chunks_total = 0;
};

// format_copy_progress renders "rows ~120,000/~200,000 (60.0%; ~20,000 in 2 running chunks),
// 85,000 rows/s, ~1.0 s left, chunks 12/20". Pure, for tests.
std::string format_copy_progress(const copy_figures& f);

// copy_figures_of: the figures of `p` now.
copy_figures copy_figures_of(const base::progress& p);

// show_copy_progress runs until `finished` is set, then draws a last line and returns; `job`
// names the job in the log's fields.
boost::asio::awaitable<void> show_copy_progress(const base::progress& counters,
                                                const std::atomic<bool>& finished, std::string job);

}  // namespace partshift::monitor
