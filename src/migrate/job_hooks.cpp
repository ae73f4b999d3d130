// job_hooks: figures for hooks, and each event's hook run where it may block.
#include "partshift/migrate/job_hooks.hpp"

#include "partshift/pg/conninfo.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;

hooks::hook_figures hook_figures_of(const state::job_record& job, const std::string& phase,
                                    const base::progress* p, const std::string& conninfo) {
    hooks::hook_figures f;
    f.job = job.job;
    f.phase = phase;
    f.source_schema = job.source_schema;
    f.source_table = job.source_table;
    f.target_schema = job.target_schema;
    f.target_table = job.target_table;
    f.conninfo = conninfo;
    f.rows_estimate = p ? p->rows_estimate.load() : job.rows_estimate;
    f.rows_copied = p ? p->rows_copied.load() : job.rows_copied;
    f.applied_lsn = stream::format_lsn(p ? p->applied_lsn.load() : job.applied_lsn.value_or(0));
    if (p && p->lag_micros >= 0) f.lag_seconds = static_cast<double>(p->lag_micros) / 1e6;
    if (p && p->lag_bytes >= 0) f.lag_bytes = p->lag_bytes.load();
    if (p) {
        f.copy_throttled = p->copy_throttled;
        if (f.copy_throttled) f.throttle_reason = p->throttle.get().text;
        f.cutover_attempts = p->cutover_attempts;
    }
    return f;
}

job_hooks::job_hooks(const std::string& dir, std::chrono::milliseconds timeout,
                     const std::string& dsn)
    : conninfo_(pg::conninfo_without_password(dsn)) {
    if (!dir.empty()) runner_.emplace(dir, timeout);
}

asio::awaitable<void> job_hooks::notify(task::task_group& tasks, hooks::hook_event event,
                                        const state::job_record& job, const std::string& phase,
                                        const base::progress& progress) const {
    if (!runner_) co_return;
    auto figures = hook_figures_of(job, phase, &progress, conninfo_);
    const auto* stop = &tasks.stop_flag();
    // Named, not built inside the co_await: GCC 12 frees such a temporary twice (task_group).
    auto run_hook = [this, event, figures = std::move(figures), stop] {
        runner_->run(event, figures, stop);
    };
    co_await tasks.run_blocking(std::move(run_hook));
}

asio::awaitable<void> job_hooks::status_hooks(task::task_group& tasks, const state::job_record& job,
                                              const base::progress& progress,
                                              const monitor::job_monitor& monitor,
                                              std::chrono::milliseconds interval) const {
    if (!runner_) co_return;
    // The co_await out of the loop's condition: GCC 12 miscompiles it there (task_group).
    for (;;) {
        const bool slept = co_await tasks.sleep_for(interval);
        if (!slept) co_return;
        co_await notify(tasks, hooks::hook_event::on_status, job, monitor.phase(), progress);
    }
}

asio::awaitable<std::optional<std::string>> job_hooks::before_cutover(
    task::task_group& tasks, const state::job_record& job, const base::progress& progress) const {
    if (!runner_) co_return std::nullopt;
    auto figures = hook_figures_of(job, job.phase, &progress, conninfo_);
    const auto* stop = &tasks.stop_flag();
    auto run_hook = [this, figures = std::move(figures), stop] {
        return runner_->run(hooks::hook_event::before_cutover, figures, stop);
    };
    auto outcome = co_await tasks.run_blocking(std::move(run_hook));
    if (outcome.ok()) co_return std::nullopt;
    co_return outcome.describe(hooks::hook_event::before_cutover);
}

void job_hooks::after_cutover(const state::job_record& job, const base::progress& progress,
                              std::optional<double> lock_hold_ms) const {
    if (!runner_) return;
    auto f = hook_figures_of(job, state::phase::done, &progress, conninfo_);
    if (lock_hold_ms) f.lock_hold_ms = *lock_hold_ms;
    runner_->run(hooks::hook_event::after_cutover, f);
}

void job_hooks::on_failure(const state::job_record& job, const std::exception& e) const {
    if (!runner_) return;
    auto f = hook_figures_of(job, job.phase, nullptr, conninfo_);
    f.error = e.what();
    runner_->run(hooks::hook_event::on_failure, f);
}

}  // namespace partshift::migrate
