// run_context: the helpers every phase uses (see the header).
#include "partshift/migrate/run_context.hpp"
#include "partshift/monitor/log_event.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

namespace partshift::migrate {

boost::asio::awaitable<void> run_context::set_phase(state::job_record& job, const char* phase) {
    auto write = [&](pg::connection& c) { state::set_phase(c, job.job, phase); };
    co_await control_async(write);
    job.phase = phase;
    monitor.set_phase(phase);
    monitor::log_event(spdlog::level::info, {.job = job.job, .phase = phase, .event = "phase"},
                       "phase {}", phase);
}

boost::asio::awaitable<void> test_pause(task::task_group& tasks) {
    const char* ms = std::getenv("PARTSHIFT_TEST_PHASE_PAUSE_MS");
    if (!ms) co_return;
    // Not cut short by a stop: the tests kill partshift during the pause.
    boost::asio::steady_timer t(tasks.executor(), std::chrono::milliseconds(std::atoi(ms)));
    co_await t.async_wait(boost::asio::use_awaitable);
}

}  // namespace partshift::migrate
