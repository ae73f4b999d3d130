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

#include "partshift/monitor/human_units.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/monitor/terminal_sink.hpp"

namespace partshift::monitor {
std::string format_copy_progress(const copy_figures& f) {
    const int64_t rows = f.rows_committed + f.rows_in_flight;
    const char* approx = f.rows_in_flight > 0 ? "~" : "";
    std::string text = fmt::format("rows {}{}", approx, human_count(rows));
    if (f.estimate > 0)
        text += fmt::format("/~{} ({:.1f}%", human_count(f.estimate),
                            100.0 * static_cast<double>(std::min(rows, f.estimate)) /
                                static_cast<double>(f.estimate));
    if (f.rows_in_flight > 0)
        text += fmt::format("{}~{} in {} running chunk{}", f.estimate > 0 ? "; " : " (",
                            human_count(f.rows_in_flight), f.chunks_running,
                            f.chunks_running == 1 ? "" : "s");
    if (f.estimate > 0 || f.rows_in_flight > 0) text += ")";
    text += ", " + human_rate(f.rate, "rows");
    if (auto eta = human_eta(f.seconds_left >= 0 ? std::optional(f.seconds_left) : std::nullopt);
        !eta.empty())
        text += ", " + eta;
    text += fmt::format(", chunks {}/{}", f.chunks_done, f.chunks_total);
    return text;
}

copy_figures copy_figures_of(const base::progress& p) {
    copy_figures f;
    f.rows_committed = p.rows_copied;
    f.rows_in_flight = p.rows_in_flight;
    f.chunks_running = p.chunks_running;
    f.estimate = p.rows_estimate;
    f.rate = p.copy_rate;
    f.seconds_left = p.copy_seconds_left;
    f.chunks_done = p.chunks_done;
    f.chunks_total = p.chunks_total;
    return f;
}

boost::asio::awaitable<void> show_copy_progress(const base::progress& counters,
                                                const std::atomic<bool>& finished,
                                                std::string job) {
    using clock = std::chrono::steady_clock;
    // On a terminal the status line is drawn by the log sink, which keeps log lines off it.
    const auto terminal = ::isatty(STDERR_FILENO) == 1 ? find_terminal_sink() : nullptr;
    const bool tty = terminal != nullptr;
    const auto period = tty ? std::chrono::milliseconds(250) : std::chrono::milliseconds(10'000);
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    const auto start = clock::now();
    auto next_report = start + period;

    // The copier's own figures (rate and time left once a second): the same ones status and
    // the metrics show.
    auto draw = [&](bool last) {
        auto figures = copy_figures_of(counters);
        if (last) figures.seconds_left = -1;
        std::string line = format_copy_progress(figures);
        if (!last && counters.copy_throttled) line += " (throttled)";
        if (terminal && last)
            terminal->end_status("copy: " + line);
        else if (terminal)
            terminal->show_status("copy: " + line);
        else
            log_event(spdlog::level::info,
                      {.job = job,
                       .phase = "copy",
                       .event = "copy_progress",
                       .rows_copied = figures.rows_committed,
                       .rows_total =
                           figures.estimate > 0 ? std::optional(figures.estimate) : std::nullopt},
                      "copy: {}", line);
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
