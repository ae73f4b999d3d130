// async_hook: a thread per hook run, joined before the coroutine returns.
#include "partshift/hooks/async_hook.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

namespace partshift::hooks {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<hook_outcome> run_hook_async(const hook_runner& runner, hook_event event,
                                             hook_figures figures, const std::atomic<bool>* stop) {
    hook_outcome outcome;
    std::atomic<bool> finished{false};
    asio::steady_timer tick(co_await asio::this_coro::executor);
    {
        // jthread: joined however this scope is left; the hook ends by itself, by its
        // timeout or by `stop`.
        std::jthread worker([&] {
            outcome = runner.run(event, figures, stop);
            finished = true;
        });
        while (!finished) {
            tick.expires_after(50ms);
            co_await tick.async_wait(asio::use_awaitable);
        }
    }
    co_return outcome;
}

}  // namespace partshift::hooks
