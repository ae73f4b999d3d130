// copy_phase: the copy phase between its two hooks (see the header).
#include "partshift/migrate/copy_phase.hpp"

#include <spdlog/spdlog.h>

#include "partshift/catalog/table_name.hpp"
#include "partshift/copy/copier.hpp"
#include "partshift/copy/copy_spec.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/monitor/progress_bar.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/stream/origin_filter.hpp"
#include "partshift/throttle/copy_gate.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;

namespace {

// copy_tables: every table of the job, one after the other, until one is not completed.
asio::awaitable<copy::copy_result> copy_tables(run_context& ctx, copy::copy_options options) {
    copy::copy_result result;
    for (const auto& t : ctx.tables) {
        auto spec = copy::make_copy_spec(*t.table, t.target);
        if (ctx.multi_table()) spdlog::info("copy: {}", catalog::qualified(t.table->name));
        auto one = co_await copy::run_copy(ctx.options.dsn, t.job, spec, options, ctx.progress,
                                           ctx.tasks.stop_flag());
        result.rows_copied += one.rows_copied;
        result.chunks_total += one.chunks_total;
        result.completed = one.completed;
        if (!one.completed || ctx.stopping()) break;
    }
    co_return result;
}

}  // namespace

asio::awaitable<bool> run_copy_phase(run_context& ctx, const state::job_record& job) {
    co_await ctx.hooks.notify(ctx.tasks, hooks::hook_event::before_copy, job, job.phase,
                              ctx.progress);
    if (ctx.stopping()) co_return false;
    copy::copy_options options;
    options.workers = ctx.progress.copy_workers;
    options.live_workers = &ctx.progress.copy_workers;
    options.relay_always = ctx.options.copy_through_partshift;
    if (stream::origin_filter_enabled(job.origin_filter)) options.origin_slot = job.slot_name;
    throttle::copy_gate gate(ctx.progress);
    options.gate = &gate;
    ctx.progress.copy_active = true;
    // The progress bar runs until this phase ends, whichever way (a child group's join).
    task::task_group bar(ctx.tasks);
    std::atomic<bool> copy_finished{false};
    bar.spawn("copy progress", monitor::show_copy_progress(ctx.progress, copy_finished, job.job));
    std::exception_ptr copy_error;
    copy::copy_result result;
    try {
        result = co_await copy_tables(ctx, options);
        auto window_end = [&](pg::connection& c) { state::set_group_window_end(c, job.job); };
        if (result.completed && ctx.multi_table()) co_await ctx.control_async(window_end);
    } catch (...) {
        copy_error = std::current_exception();
    }
    copy_finished = true;
    ctx.progress.copy_active = false;
    co_await bar.join();
    if (copy_error) std::rethrow_exception(copy_error);
    if (!result.completed || ctx.stopping()) co_return false;
    monitor::log_event(spdlog::level::info,
                       {.job = job.job,
                        .phase = state::phase::copy,
                        .event = "copy_done",
                        .rows_copied = result.rows_copied,
                        .rows_total = result.rows_copied},
                       "copy done: {} rows in {} chunks", result.rows_copied, result.chunks_total);
    co_await ctx.hooks.notify(ctx.tasks, hooks::hook_event::after_copy, job, job.phase,
                              ctx.progress);
    co_return true;
}

}  // namespace partshift::migrate
