// cutover_launcher: starts the cutover once the follow watcher opens the gate, as a blocking
// job of the follow phase's task group (the lock, the fence and the swap are blocking libpq,
// while the streamer and the applier go on on the loop, applying the tail up to the fence).
// The job: run --verify's comparison, the revert window's reverse stream (or, for a reverse
// job, the mark that the swap back reverted the forward job), the attempts, and dropping a
// reverse stream no swap used. Afterwards it reports the outcome for the steps after the loop.
// Must not: lock, swap or apply itself (cutover_runner and the applier do), or block the loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

#include "partshift/cutover/cutover_runner.hpp"
#include "partshift/migrate/run_context.hpp"
#include "partshift/state/job_store.hpp"
#include "partshift/task/task_group.hpp"

namespace partshift::migrate {

class cutover_launcher {
  public:
    // `tasks`: the group the cutover runs in (joined by the caller before it goes);
    // `applied_fence_lsn`: the applier's, safe to call from another thread.
    cutover_launcher(run_context& ctx, task::task_group& tasks, std::string job,
                     std::function<uint64_t()> applied_fence_lsn)
        : ctx_(ctx),
          tasks_(tasks),
          job_(std::move(job)),
          applied_fence_lsn_(std::move(applied_fence_lsn)) {}

    // start: once, on the loop; the job's end (or failure) stops the run.
    void start();
    bool started() const { return started_; }
    bool finished() const { return finished_.load(); }

    // report, after the group was joined: rethrows the cutover's failure (cutover_error: a
    // swap statement failed, exit 4), else leaves the outcome in ctx.cutover.
    void report();

  private:
    void run(cutover::cutover_options o, cutover::cutover_hooks hooks);
    cutover::cutover_options options_for(const state::job_record& job);
    cutover::cutover_hooks hooks_for();
    void verify_before_swap(const state::job_record& job);
    std::optional<std::chrono::milliseconds> revert_window_for(const state::job_record& job) const;
    void drop_unused_reverse_stream(const state::job_record& job, const state::job_record& reverse);

    run_context& ctx_;
    task::task_group& tasks_;
    std::string job_;
    std::function<uint64_t()> applied_fence_lsn_;
    bool started_ = false;
    std::atomic<bool> finished_{false};
    cutover::cutover_result result_;  // written by the job, read after the join
};

}  // namespace partshift::migrate
