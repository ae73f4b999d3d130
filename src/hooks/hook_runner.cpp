// hook_runner: finds the event's executable and runs it; logs the start and the outcome.
#include "partshift/hooks/hook_runner.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "partshift/error.hpp"
#include "partshift/spool/trusted_path.hpp"

namespace partshift::hooks {

std::string hook_outcome::describe(hook_event event) const {
    return std::string("hook ") + event_name(event) + " (" + path + ") " + process.describe();
}

hook_outcome hook_runner::run(hook_event event, const hook_figures& figures,
                              const std::atomic<bool>* stop) const {
    hook_outcome outcome;
    outcome.path = (std::filesystem::path(dir_) / event_name(event)).string();
    std::error_code ec;
    if (!std::filesystem::exists(outcome.path, ec)) {
        spdlog::debug("no hook {} in {}", event_name(event), dir_);
        return outcome;
    }
    outcome.ran = true;
    // The directory was checked when the run started; a file in it that someone else could
    // have written is not run as partshift's user.
    if (auto reason = spool::untrusted_file_reason(outcome.path)) {
        outcome.process.error =
            "it " + *reason + "; partshift runs only hooks no other user can change";
        spdlog::warn("{}", outcome.describe(event));
        return outcome;
    }
    spdlog::info("hook {}: running {}", event_name(event), outcome.path);
    process_request request;
    request.path = outcome.path;
    request.log_tag = std::string("hook ") + event_name(event);
    request.env = hook_env(event, figures);
    request.inherit = may_inherit;
    request.timeout = timeout_;
    request.stop = stop;
    outcome.process = run_process(request);
    if (outcome.process.ok())
        spdlog::info("hook {}: exited with 0 in {:.1f} s", event_name(event),
                     outcome.process.seconds);
    else
        spdlog::warn("{}", outcome.describe(event));
    return outcome;
}

void check_hooks_dir(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw usage_error("--hooks-dir " + dir + " is not a directory");
    // partshift executes what the directory holds: only this user (or root) may change it.
    spool::check_trusted_directory(dir, "--hooks-dir", /*sticky_ok=*/false);
}

}  // namespace partshift::hooks
