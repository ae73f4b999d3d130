// async_hook: runs a hook from a coroutine without blocking the event loop (the streamer's
// keepalives and the applier share it): the blocking hook_runner::run goes on a thread of its
// own, and the coroutine polls for its end.
#pragma once

#include <utility>

#include <atomic>
#include <boost/asio/awaitable.hpp>

#include "partshift/hooks/hook_runner.hpp"

namespace partshift::hooks {

// run_hook_async: hook_runner::run(event, figures, stop) on a thread; resumes when it ended.
boost::asio::awaitable<hook_outcome> run_hook_async(const hook_runner& runner, hook_event event,
                                                    hook_figures figures,
                                                    const std::atomic<bool>* stop);

}  // namespace partshift::hooks
