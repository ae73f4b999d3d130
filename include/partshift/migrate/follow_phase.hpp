// follow_phase: phases replay and follow, up to the end of the cutover: one applier for every
// table of the job (one target transaction, one applied LSN, the source's commit order across
// tables) fed from the spool, resumed from the checkpoint after a lost connection; beside it,
// in a task group of the phase's own, the follow watcher (phase follow, the gate), the
// secondary UNIQUE index build once in follow, and the cutover once the gate opens. Ends when
// the run stops; waits for everything it started before it returns.
// Which failure counts, in this order: the cutover's (a swap statement failed), the
// applier's unless the swap committed (after it, nothing the applier does matters), then the
// first of the others.
// Must not: swap, lock or decide the gate itself (cutover_launcher, cutover_runner and
// follow_watcher do), or block the loop.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include "partshift/apply/applier.hpp"
#include "partshift/migrate/cutover_launcher.hpp"
#include "partshift/migrate/follow_watcher.hpp"
#include "partshift/migrate/run_context.hpp"
#include "partshift/migrate/spool_feed.hpp"
#include "partshift/task/task_group.hpp"

namespace partshift::migrate {

class follow_phase {
  public:
    follow_phase(run_context& ctx, state::job_record& job);
    ~follow_phase();

    // run returns once the run stopped and every task of the phase ended; throws the failure
    // that counts (see the header).
    boost::asio::awaitable<void> run();

  private:
    std::vector<apply::relation_target> relations() const;
    apply::applier_options applier_options() const;
    follow_watcher_options watcher_options(const state::job_record& fresh) const;
    follow_watcher_hooks watcher_hooks();
    boost::asio::awaitable<void> enter_follow();
    boost::asio::awaitable<bool> claim_request();
    void start_unique_build();
    boost::asio::awaitable<void> build_unique();
    boost::asio::awaitable<std::exception_ptr> apply_until_stopped();
    boost::asio::awaitable<void> reopen_feed();

    run_context& ctx_;
    state::job_record& job_;
    task::task_group tasks_;  // the watcher, the unique build, the cutover
    std::unique_ptr<apply::applier> applier_;
    std::optional<spool_feed> feed_;
    std::optional<cutover_launcher> cutover_;
    bool unique_built_ = false;  // nothing to build, or built by this run
};

}  // namespace partshift::migrate
