// follow_watcher: the follow-phase tick. Decisions only; the hooks do the work.
#include "partshift/migrate/follow_watcher.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>

#include "partshift/monitor/byte_size.hpp"
#include "partshift/monitor/human_units.hpp"
#include "partshift/monitor/lag.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/monitor/tail_estimate.hpp"
#include "partshift/stream/pg_clock.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> follow_watcher::run() {
    auto last_cleanup = std::chrono::steady_clock::now();
    bool in_follow = options_.in_follow;
    while (!tasks_.stop_requested()) {
        // Follow starts once the idempotent window is behind and the backlog is applied:
        // either exactly (every spooled transaction committed on the target; the acknowledged
        // idle position then counts as applied too, so an idle source still leaves the window
        // behind), or, under a steady write load that never lets the target be exactly
        // current, with the oldest unapplied change less than a second old.
        if (!in_follow) {
            auto lag = monitor::compute_lag(progress_, stream::now_pg_epoch_micros(), true);
            const bool exact = hooks_.backlog_applied() && lag.caught_up &&
                               lag.applied_position >= options_.window_end;
            const bool close = progress_.applied_lsn >= options_.window_end &&
                               lag_within(progress_.lag_micros, std::chrono::seconds(1));
            if (exact || close) {
                co_await hooks_.enter_follow();
                in_follow = true;
            }
        }
        const auto now = std::chrono::steady_clock::now();
        if (in_follow && !follow_since_) follow_since_ = now;
        if (follow_since_ && options_.dry_run_for &&
            now - *follow_since_ >= *options_.dry_run_for) {
            monitor::log_event(spdlog::level::info,
                               {.job = options_.job, .phase = "follow", .event = "stop_requested"},
                               "dry run time is up; stopping with the checkpoint saved");
            tasks_.request_stop();
        }
        if (progress_.end_revert_window && !cutover_started_) {
            spdlog::info("the revert window is over (its time is up, or 'partshift finish')");
            tasks_.request_stop();
        }
        if (now - last_cleanup > 5s) {
            hooks_.remove_applied_segments();
            last_cleanup = now;
        }
        // Not once a stop is asked (the window's end above): a swap started now would race
        // the window's close (issue 20 item 6).
        if (in_follow && options_.cut_over && !tasks_.stop_requested() && gate_open())
            co_await open_gate();
        if (cutover_started_ && hooks_.cutover_finished()) tasks_.request_stop();
        // A tick, not a wait: what it decides on are samples with no event behind them (the lag
        // job_monitor measures on its own tick, the clock for --dry-run-for, a flag file on
        // disk); a stop still ends the sleep at once.
        const bool slept = co_await tasks_.sleep_for(200ms);
        if (!slept) break;
    }
}

bool follow_watcher::ready_for_lock(const base::progress& p,
                                    std::optional<std::chrono::milliseconds> tail_fits_hold) {
    if (lag_within(p.lag_micros, std::chrono::microseconds(p.max_lag_micros))) return true;
    return tail_fits_hold && monitor::tail_fits(p.tail_seconds, *tail_fits_hold);
}

bool follow_watcher::gate_open() {
    if (cutover_started_) return false;
    if (!hooks_.indexes_ready()) {
        progress_.cutover = base::cutover_stage::catching_up;
        return false;
    }
    // One measurement at most --max-lag is enough: the lag is measured conservatively (see
    // job_monitor), and what the lock waits for is bounded by the fence's cap however the lag
    // moved since. With --cutover-when tail-fits, one estimate of the tail that fits is.
    if (!ready_for_lock(progress_, options_.tail_fits_hold)) {
        progress_.cutover = base::cutover_stage::catching_up;
        return false;
    }
    if (options_.postpone && !progress_.cutover_requested) {
        if (progress_.cutover != base::cutover_stage::waiting_for_request)
            monitor::log_event(spdlog::level::info,
                               {.job = options_.job, .phase = "follow", .event = "cutover_ready"},
                               "{}", options_.waiting_line);
        progress_.cutover = base::cutover_stage::waiting_for_request;
        return false;
    }
    if (options_.postpone_flag_file && !progress_.cutover_requested) {
        std::error_code ec;  // unreadable counts as present: postponing is the safe side
        const bool present = std::filesystem::exists(*options_.postpone_flag_file, ec) || ec;
        const bool was = progress_.cutover == base::cutover_stage::postponed_by_flag_file;
        if (present && !was)
            spdlog::info("ready to cut over; postponed while {} exists",
                         *options_.postpone_flag_file);
        else if (!present && was)
            spdlog::info("{} is gone", *options_.postpone_flag_file);
        if (present) {
            progress_.cutover = base::cutover_stage::postponed_by_flag_file;
            return false;
        }
    }
    return true;
}

asio::awaitable<void> follow_watcher::open_gate() {
    if (hooks_.before_cutover) {
        const auto now = std::chrono::steady_clock::now();
        if (hook_retry_at_ && now < *hook_retry_at_) co_return;
        auto postponed = co_await hooks_.before_cutover();
        if (tasks_.stop_requested()) co_return;
        if (postponed) {
            progress_.cutover = base::cutover_stage::postponed_by_hook;
            hook_retry_at_ = std::chrono::steady_clock::now() + options_.hook_retry;
            spdlog::warn(
                "cutover postponed: {}; asking it again in {} s", *postponed,
                std::chrono::duration_cast<std::chrono::seconds>(options_.hook_retry).count());
            co_return;
        }
    }
    if (progress_.cutover_requested && hooks_.claim_request) {
        // Named, not in a condition (GCC 12: see follow_phase::build_unique).
        const bool claimed = co_await hooks_.claim_request();
        if (tasks_.stop_requested()) co_return;
        // Withdrawn since the last tick: a run that needs the request waits for a new one.
        if (!claimed && (options_.postpone || options_.postpone_flag_file)) {
            spdlog::info("the cutover request was withdrawn; not cutting over");
            progress_.cutover_requested = false;
            co_return;
        }
    }
    progress_.cutover = base::cutover_stage::cutting_over;
    cutover_started_ = true;
    const monitor::log_fields started{
        .job = options_.job,
        .phase = "follow",
        .event = "cutover_start",
        .lag_bytes = progress_.lag_bytes.load(),
        .lag_seconds = static_cast<double>(progress_.lag_micros) / 1e6};
    // The lag as it is now (the before-cutover hook may have taken a while).
    if (!options_.tail_fits_hold ||
        lag_within(progress_.lag_micros, std::chrono::microseconds(progress_.max_lag_micros)))
        monitor::log_event(spdlog::level::info, started, "cutover: lag {:.2f} s, starting",
                           progress_.lag_micros / 1e6);
    else
        monitor::log_event(
            spdlog::level::info, started,
            "cutover: lag {:.2f} s is over --max-lag ({}), but the tail fits (--cutover-when "
            "tail-fits): ~{} to apply under the lock at {} (the applier's pace with a backlog), "
            "{:.0f}x that within --max-lock-hold ({}); starting",
            progress_.lag_micros / 1e6, monitor::human_duration(progress_.max_lag_micros / 1e6),
            monitor::human_duration(progress_.tail_seconds),
            monitor::human_byte_rate(progress_.apply_capacity), monitor::tail_safety_factor,
            monitor::human_duration(static_cast<double>(options_.tail_fits_hold->count()) / 1e3));
    hooks_.start_cutover();
}

}  // namespace partshift::migrate
