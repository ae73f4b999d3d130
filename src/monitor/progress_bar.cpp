// progress_bar: a coroutine that samples the copy counters on a timer and prints them.
// Must not write to stdout (plan output and JSON go there).
#include "partshift/monitor/progress_bar.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "partshift/monitor/terminal_sink.hpp"

namespace partshift::monitor {
namespace {

std::string format_duration(double seconds) {
    auto s = static_cast<int64_t>(seconds + 0.5);
    if (s < 60) return fmt::format("{}s", s);
    if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

}  // namespace

std::string format_copy_progress(int64_t rows, int64_t estimate, double rate, int64_t chunks_done,
                                 int64_t chunks_total) {
    std::string text = fmt::format("rows {}", rows);
    if (estimate > 0)
        text += fmt::format(
            "/{} ({:.1f}%)", estimate,
            100.0 * static_cast<double>(std::min(rows, estimate)) / static_cast<double>(estimate));
    text += fmt::format(", {:.0f} rows/s", rate);
    if (estimate > rows && rate > 0)
        text += ", ETA " + format_duration(static_cast<double>(estimate - rows) / rate);
    text += fmt::format(", chunks {}/{}", chunks_done, chunks_total);
    return text;
}

boost::asio::awaitable<void> show_copy_progress(const base::progress& counters,
                                                const std::atomic<bool>& finished) {
    using clock = std::chrono::steady_clock;
    // On a terminal the status line is drawn by the log sink, which keeps log lines off it.
    const auto terminal = ::isatty(STDERR_FILENO) == 1 ? find_terminal_sink() : nullptr;
    const bool tty = terminal != nullptr;
    const auto period = tty ? std::chrono::milliseconds(250) : std::chrono::milliseconds(10'000);
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    const auto start = clock::now();
    const int64_t start_rows = counters.rows_copied.load();
    auto next_report = start + period;

    auto draw = [&](bool last) {
        int64_t rows = counters.rows_copied.load();
        double elapsed = std::chrono::duration<double>(clock::now() - start).count();
        double rate = elapsed > 0 ? static_cast<double>(rows - start_rows) / elapsed : 0;
        std::string line =
            format_copy_progress(rows, counters.rows_estimate.load(), rate,
                                 counters.chunks_done.load(), counters.chunks_total.load());
        if (!last && counters.copy_throttled) line += " (throttled)";
        if (terminal && last)
            terminal->end_status("copy: " + line);
        else if (terminal)
            terminal->show_status("copy: " + line);
        else
            spdlog::info("copy: {}", line);
    };

    // Wake often enough to notice `finished` promptly even when reporting every 10 s.
    while (!finished.load()) {
        timer.expires_after(std::chrono::milliseconds(100));
        co_await timer.async_wait(boost::asio::use_awaitable);
        if (clock::now() >= next_report) {
            draw(false);
            next_report += period;
        }
    }
    draw(true);
}

}  // namespace partshift::monitor
