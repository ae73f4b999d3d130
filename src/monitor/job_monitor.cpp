// job_monitor: periodic status writes and lag lines. Reads counters; changes no job data
// other than the status columns of partshift.jobs.
#include "partshift/monitor/job_monitor.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

#include "partshift/monitor/byte_size.hpp"
#include "partshift/monitor/human_units.hpp"
#include "partshift/monitor/lag.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/state/cutover_request.hpp"
#include "partshift/stream/pg_clock.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::monitor {
namespace {

namespace asio = boost::asio;

// finite: a JSON number (NaN and infinities are not).
double finite(double value) {
    return std::isfinite(value) ? value : -1;
}

// live_figures_json: the estimates of this tick, for the row's `live` column (status reads
// them back as they are, so every screen shows the same figures).
std::string live_figures_json(const base::progress& p) {
    return fmt::format(
        "{{\"rows_in_flight\": {}, \"chunks_running\": {}, \"copy_rate\": {}, "
        "\"copy_seconds_left\": {}, \"index_builds_done\": {}, \"index_builds_total\": {}, "
        "\"index_seconds_left\": {}, \"catch_up\": \"{}\", \"catch_up_seconds_left\": {}, "
        "\"applied_wal_rate\": {}, \"incoming_wal_rate\": {}, \"catch_up_paced\": {}}}",
        p.rows_in_flight.load(), p.chunks_running.load(), finite(p.copy_rate),
        finite(p.copy_seconds_left), p.index_builds_done.load(), p.index_builds_total.load(),
        finite(p.index_seconds_left), describe(static_cast<catch_up_state>(p.catch_up.load())),
        finite(p.catch_up_seconds_left), finite(p.applied_wal_rate), finite(p.incoming_wal_rate),
        p.catch_up_paced.load());
}

}  // namespace

job_monitor::job_monitor(monitor_options options, base::progress& p, const std::atomic<bool>& stop)
    : options_(std::move(options)), progress_(p), stop_(stop) {}

asio::awaitable<void> job_monitor::run() {
    auto ex = co_await asio::this_coro::executor;
    std::optional<pg::async_connection> conn;
    auto next_print = std::chrono::steady_clock::now() + options_.report_interval;
    asio::steady_timer tick(ex);
    while (!stop_) {
        try {
            if (!conn)
                conn.emplace(
                    co_await pg::async_connection::connect(options_.dsn, "partshift-monitor"));
            bool print = std::chrono::steady_clock::now() >= next_print && phase_ == "follow";
            co_await report_once(*conn, print);
            progress_.changed.notify();  // the cutover's gate reads the lag just measured
            if (after_tick_) after_tick_();
            if (print) next_print = std::chrono::steady_clock::now() + options_.report_interval;
        } catch (const pg::pg_error& e) {
            // Status is best effort: a lost connection must not stop the migration.
            spdlog::debug("status update failed: {}", e.what());
            conn.reset();
        }
        tick.expires_after(std::chrono::seconds(1));
        co_await tick.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<void> job_monitor::report_once(pg::async_connection& conn, bool print) {
    const bool applying = this->applying();
    const auto now = std::chrono::steady_clock::now();
    const auto measured = measure_lag(now, applying);
    estimate(now, measured.source, measured.lag, measured.known && applying);
    log_checkpoint(now, measured.lag, measured.known);
    const int64_t changes = update_apply_rate(now);
    judge_pace(now, measured, changes, applying);
    judge_catch_up_pace(measured, applying);
    // Named, not built inside the co_await: GCC 12 frees such a temporary twice.
    const std::string behind = pace_.why().value_or("");
    auto r = co_await write_row(conn, measured, behind);
    progress_.apply_rate = rate_;
    if (r.rows() > 0) take_row(r, now);
    if (print && measured.known && r.rows() > 0) log_lag_line(measured.lag, r);
}

job_monitor::measurement job_monitor::measure_lag(std::chrono::steady_clock::time_point now,
                                                  bool applying) {
    measurement m;
    // The source position is the server's WAL insert position read two ticks ago: a keepalive
    // requested since then (the streamer asks every second) proves whether the walsender has
    // passed it. A keepalive alone is no proof: it reports only how far the walsender has
    // decoded, which lags the server while it works through a backlog.
    m.source = progress_.received_lsn;
    if (insert_positions_.size() == 2)
        m.source = std::max(m.source, insert_positions_.front().first);
    // Lag in seconds is the age of the oldest committed source change not yet applied: the
    // oldest commit received and not applied (the streamer's record, or the applier's open
    // batch after a restart, whichever is older)...
    const uint64_t applied = progress_.applied_lsn;
    int64_t oldest = progress_.commits.oldest_unapplied(applied);
    if (int64_t batch = progress_.oldest_unapplied_commit_us; batch > 0)
        oldest = oldest > 0 ? std::min(oldest, batch) : batch;
    const int64_t now_us = stream::now_pg_epoch_micros();
    const uint64_t complete = std::max<uint64_t>(progress_.spooled_lsn, progress_.complete_lsn);
    m.lag = compute_lag(m.source, progress_.spooled_commit_lsn, complete, applied, oldest, now_us,
                        applying);
    // Until two source positions are known, lag is unknown (NULL), never a premature 0.
    m.known = insert_positions_.size() == 2;
    // ... or, when the walsender has not yet sent what the server had written two ticks ago,
    // at least the age of that position: commits before it may still be on their way.
    if (m.known && progress_.received_lsn < insert_positions_.front().first)
        m.lag.lag_seconds =
            std::max(m.lag.lag_seconds,
                     std::chrono::duration<double>(now - insert_positions_.front().second).count());
    // One lag figure, in every phase: the row (status), the log line, the metrics and the
    // cutover gate all take this one. During the copy it grows: changes wait in the spool.
    if (m.known) {
        progress_.lag_bytes = static_cast<int64_t>(m.lag.lag_bytes);
        progress_.lag_micros = static_cast<int64_t>(m.lag.lag_seconds * 1e6);
    }
    return m;
}

int64_t job_monitor::update_apply_rate(std::chrono::steady_clock::time_point now) {
    const int64_t changes = progress_.changes_written;
    if (last_time_ != std::chrono::steady_clock::time_point{}) {
        double seconds = std::chrono::duration<double>(now - last_time_).count();
        double instant = seconds > 0 ? (changes - last_changes_) / seconds : 0;
        rate_ = rate_ == 0 ? instant : 0.7 * rate_ + 0.3 * instant;  // smoothed over a few s
    }
    last_changes_ = changes;
    last_time_ = now;
    return changes;
}

void job_monitor::judge_pace(std::chrono::steady_clock::time_point now, const measurement& m,
                             int64_t changes, bool applying) {
    if (m.known && applying) {
        const auto change = pace_.add({now, m.source, m.lag.applied_position, m.lag.lag_seconds,
                                       changes, static_cast<double>(progress_.max_lag_micros) / 1e6,
                                       progress_.apply_lanes.load()});
        // Logged once when it falls behind, and again only after it caught up and relapsed.
        if (change == apply_pace::change::fell_behind)
            spdlog::warn("{}", pace_.why().value_or("the applier is not keeping up"));
        else if (change == apply_pace::change::caught_up)
            spdlog::info("the applier is keeping up again (lag {}, {})",
                         human_size(static_cast<double>(m.lag.lag_bytes)),
                         human_duration(m.lag.lag_seconds));
    } else {
        pace_.reset();
    }
    progress_.apply_falling_behind = pace_.behind();
}

void job_monitor::set_phase(std::string phase) {
    // Only on entering the applier's phases: replay → follow goes on as the last tick judged.
    const bool was_applying = applying();
    phase_ = std::move(phase);
    if (applying() && !was_applying) judge_catch_up_pace(measurement{}, true);
}

bool job_monitor::applying() const {
    return phase_ == "replay" || phase_ == "follow";
}

void job_monitor::judge_catch_up_pace(const measurement& m, bool applying) {
    const int percent = progress_.catch_up_pace_percent;
    const double max_lag = static_cast<double>(progress_.max_lag_micros) / 1e6;
    // Never under the cutover's lock: the tail is applied at full speed.
    const bool locked = progress_.cutover.load() == base::cutover_stage::cutting_over;
    const auto verdict = static_cast<catch_up_state>(progress_.catch_up.load());
    const auto change =
        catch_up_pacer_.judge({.percent = percent,
                               .applying = applying && !locked,
                               .lag_known = m.known,
                               .lag_seconds = m.lag.lag_seconds,
                               .max_lag_seconds = max_lag,
                               .not_converging = verdict == catch_up_state::not_converging ||
                                                 progress_.apply_falling_behind});
    progress_.catch_up_paced = catch_up_pacer_.paced();
    const auto lag_text = m.known ? human_size(static_cast<double>(m.lag.lag_bytes)) + ", " +
                                        human_duration(m.lag.lag_seconds)
                                  : std::string("not measured yet");
    switch (change) {
        case catch_up_pacer::change::paced:
            spdlog::info(
                "catch-up paced: the lag ({}) is not known to be within --max-lag ({}); "
                "streaming and applying {}% of the time until it is (--catch-up-pace)",
                lag_text, human_duration(max_lag), percent);
            break;
        case catch_up_pacer::change::lifted:
            spdlog::warn(
                "catch-up pace lifted: at {}% the lag ({}) does not shrink (the source writes "
                "{} of WAL, the applier gets through {}); catching up at full speed",
                percent, lag_text, human_byte_rate(progress_.incoming_wal_rate),
                human_byte_rate(progress_.applied_wal_rate));
            break;
        case catch_up_pacer::change::ended:
            spdlog::info("catch-up pace ended (lag {})", lag_text);
            break;
        case catch_up_pacer::change::caught_up_after_lift:
            spdlog::info(
                "caught up at full speed after the lifted pace (lag {}, within --max-lag {}); the "
                "next catch-up over it is paced again",
                lag_text, human_duration(max_lag));
            break;
        case catch_up_pacer::change::none:
            break;
    }
}

asio::awaitable<pg::result> job_monitor::write_row(pg::async_connection& conn, const measurement& m,
                                                   const std::string& behind) {
    // Statement and parameters as named locals: GCC 12 mis-destroys temporaries (notably
    // conditional ones) that live across a co_await.
    std::string sql =
        "WITH s AS (SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint "
        "AS retained, wal_status FROM pg_replication_slots WHERE slot_name = $7) "
        "UPDATE partshift.jobs SET rows_copied = greatest(rows_copied, $2::bigint), "
        "received_lsn = CASE WHEN $3::numeric > 0 THEN '0/0'::pg_lsn + $3::numeric END, "
        "source_lsn = pg_current_wal_lsn(), lag_bytes = $4::bigint, "
        "lag_seconds = $5::double precision, apply_rate = $6::double precision, "
        "cutover_state = CASE WHEN phase = 'done' THEN cutover_state ELSE nullif($8, '') END, "
        "throttle_reason = nullif($9, ''), apply_behind = nullif($10, ''), live = $11::jsonb, "
        "updated_at = now() "
        "WHERE job = $1 "
        "RETURNING (SELECT retained FROM s), (SELECT wal_status FROM s), "
        "(pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::numeric(20,0)::text, " +
        // Only a request made to this run (registered at its start) counts.
        std::string(state::request_for_run_sql) +
        ", "
        "copy_paused, coalesce(max_copy_rate, 0), coalesce(max_lag_ms, -1), "
        "coalesce(copy_workers, 0), "
        // A reverse job (revert window): its window is over, or `partshift finish` asked.
        "finish_requested OR coalesce((SELECT f.revert_until <= now() FROM partshift.jobs f "
        "WHERE f.job = partshift.jobs.reverse_of), false), "
        "coalesce(apply_workers, 0), coalesce(catch_up_pace, 100)";
    pg::param lag_bytes, lag_seconds;
    if (m.known) {
        lag_bytes = std::to_string(m.lag.lag_bytes);
        lag_seconds = std::to_string(m.lag.lag_seconds);
    }
    pg::param_list params = pg::make_params(
        options_.job, progress_.rows_copied.load(), std::to_string(progress_.received_lsn.load()),
        lag_bytes, lag_seconds, std::to_string(rate_), options_.slot_name,
        std::string(describe(progress_.cutover.load())), progress_.throttle.get().text, behind,
        live_figures_json(progress_));
    auto r = co_await conn.exec(std::move(sql), std::move(params));
    co_return r;
}

void job_monitor::take_row(const pg::result& r, std::chrono::steady_clock::time_point now) {
    insert_positions_.emplace_back(std::stoull(r.get(0, 2)), now);
    if (insert_positions_.size() > 2) insert_positions_.pop_front();
    progress_.source_lsn = insert_positions_.back().first;
    progress_.cutover_requested = r.get_bool(0, 3);
    take_controls(r.get_bool(0, 4), std::stod(r.get(0, 5)), r.get_int(0, 6));
    progress_.end_revert_window = r.get_bool(0, 8);
    take_copy_workers(static_cast<int>(r.get_int(0, 7)));
    take_apply_workers(static_cast<int>(r.get_int(0, 9)));
    take_catch_up_pace(static_cast<int>(r.get_int(0, 10)));
}

void job_monitor::log_lag_line(const lag_figures& lag, const pg::result& r) {
    const auto catch_up = describe_catch_up(
        catch_up_.estimate(lag.lag_seconds, static_cast<double>(progress_.max_lag_micros) / 1e6));
    log_event(
        spdlog::level::info,
        {.job = options_.job,
         .phase = phase_,
         .event = "lag",
         .lag_bytes = static_cast<int64_t>(lag.lag_bytes),
         .lag_seconds = lag.lag_seconds,
         .rows_copied = progress_.rows_copied.load(),
         .rows_total = progress_.rows_estimate > 0 ? std::optional(progress_.rows_estimate.load())
                                                   : std::nullopt},
        "lag {}, {}; applying {}{}; slot retains {} of WAL ({})",
        human_size(static_cast<double>(lag.lag_bytes)), human_duration(lag.lag_seconds),
        human_rate(rate_, "changes"), catch_up.empty() ? "" : "; catch-up " + catch_up,
        human_size(static_cast<double>(r.is_null(0, 0) ? 0 : r.get_int(0, 0))), r.get(0, 1));
}

void job_monitor::log_checkpoint(std::chrono::steady_clock::time_point now, const lag_figures& lag,
                                 bool lag_known) {
    const uint64_t durable = progress_.durable_applied_lsn;
    if (durable == 0 || durable <= logged_checkpoint_) return;
    if (phase_ == checkpoint_phase_ && now - checkpoint_logged_at_ < options_.checkpoint_interval)
        return;
    const auto applied = stream::format_lsn(progress_.applied_lsn);
    const auto flushed = stream::format_lsn(durable);
    log_fields fields{.job = options_.job,
                      .phase = phase_,
                      .event = "checkpoint",
                      .applied_lsn = applied,
                      .durable_lsn = flushed};
    std::string lag_text;
    if (lag_known) {
        fields.lag_bytes = static_cast<int64_t>(lag.lag_bytes);
        fields.lag_seconds = lag.lag_seconds;
        lag_text = "; lag " + human_size(static_cast<double>(lag.lag_bytes)) + ", " +
                   human_duration(lag.lag_seconds);
    }
    log_event(spdlog::level::info, fields,
              "checkpoint: the target holds the changes up to {} (flushed up to {}){}", applied,
              flushed, lag_text);
    logged_checkpoint_ = durable;
    checkpoint_logged_at_ = now;
    checkpoint_phase_ = phase_;
}

void job_monitor::estimate(std::chrono::steady_clock::time_point now, uint64_t source,
                           const lag_figures& lag, bool applying) {
    // Catch-up: while the applier runs and the lag is known.
    if (applying) {
        catch_up_.add(now, source, lag.applied_position);
        const auto e = catch_up_.estimate(lag.lag_seconds,
                                          static_cast<double>(progress_.max_lag_micros) / 1e6);
        progress_.catch_up = static_cast<int>(e.state);
        progress_.catch_up_seconds_left = e.seconds_left.value_or(-1);
        progress_.applied_wal_rate = e.applied_bytes_per_second;
        progress_.incoming_wal_rate = e.incoming_bytes_per_second;
        // The tail a cutover's lock would wait for now: unapplied up to the newest WAL position
        // the server reported (a tick ago; the lag's own position is older, see report_once).
        capacity_.add(now, lag.applied_position, static_cast<int64_t>(lag.lag_bytes));
        tail_inputs tail;
        tail.applied_position = lag.applied_position;
        tail.received_position = progress_.received_lsn;
        tail.insert_position = source;
        if (!insert_positions_.empty()) {
            tail.insert_position = std::max(source, insert_positions_.back().first);
            tail.insert_age_seconds =
                std::chrono::duration<double>(now - insert_positions_.back().second).count();
        }
        tail.incoming_bytes_per_second = e.incoming_bytes_per_second;
        tail.capacity_bytes_per_second = capacity_.bytes_per_second();
        progress_.apply_capacity = tail.capacity_bytes_per_second.value_or(0);
        // Not before the incoming rate is measured (the catch-up window's first seconds): a
        // tail without what arrives before the lock would be underestimated.
        const bool rates_known = e.incoming_bytes_per_second > 0 || e.applied_bytes_per_second > 0;
        progress_.tail_seconds = rates_known ? monitor::tail_seconds(tail).value_or(-1) : -1;
    } else {
        catch_up_.reset();
        capacity_.reset();
        progress_.apply_capacity = 0;
        progress_.tail_seconds = -1;
        progress_.catch_up = static_cast<int>(catch_up_state::unknown);
        progress_.catch_up_seconds_left = -1;
    }
    // Index build: builds finished per second since the phase began, against those left.
    if (phase_ == "index") {
        index_rate_.add(now, static_cast<double>(progress_.index_builds_done.load()));
        const auto left = seconds_left(
            static_cast<double>(progress_.index_builds_total - progress_.index_builds_done),
            index_rate_.per_second());
        progress_.index_seconds_left = progress_.index_builds_total > 0 ? left.value_or(-1) : -1;
    } else {
        index_rate_.reset();
        progress_.index_seconds_left = -1;
    }
}

void job_monitor::take_copy_workers(int workers) {
    if (workers < 1 || workers == progress_.copy_workers) return;
    spdlog::info("copy workers now {} ('partshift set'; applied between chunks)", workers);
    progress_.copy_workers = workers;
}

void job_monitor::take_apply_workers(int workers) {
    const int before = progress_.apply_workers.exchange(workers);
    // The first reading is what the run started with: only a change made since is news.
    if (before != 0 && workers != before)
        spdlog::info(
            "apply lanes now {} ('partshift set'; the applier commits its batch and reopens its "
            "sessions between two source transactions)",
            workers);
}

void job_monitor::take_catch_up_pace(int percent) {
    const int before = progress_.catch_up_pace_percent.exchange(percent);
    if (percent == before) return;
    // Judged again at the next tick: paced at the new share, or the pace ended at 100%.
    spdlog::info("catch-up pace now {}% ('partshift set'){}", percent,
                 percent >= 100 ? ": catch-ups run at full speed" : "");
}

void job_monitor::take_controls(bool paused, double max_copy_rate, int64_t max_lag_ms) {
    if (paused != progress_.copy_paused) {
        spdlog::info(paused ? "copy paused ('partshift pause'); the stream and the apply go on"
                            : "copy resumed ('partshift resume')");
        progress_.copy_paused = paused;
    }
    if (max_copy_rate != progress_.max_copy_rate) {
        if (max_copy_rate > 0)
            spdlog::info("copy rate ceiling now {:.0f} rows/s", max_copy_rate);
        else
            spdlog::info("copy rate ceiling removed");
        progress_.max_copy_rate = max_copy_rate;
    }
    if (max_lag_ms >= 0 && max_lag_ms * 1000 != progress_.max_lag_micros) {
        spdlog::info("cutover max lag now {} ms", max_lag_ms);
        progress_.max_lag_micros = max_lag_ms * 1000;
    }
}

}  // namespace partshift::monitor
