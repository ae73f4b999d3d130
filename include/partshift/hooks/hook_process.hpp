// hook_process: runs one hook executable to completion with posix_spawn: extra environment
// variables, stdin from /dev/null, stdout and stderr through a pipe into the log (line by line,
// never raw to the terminal), a timeout, and an optional stop flag. The child gets a process
// group of its own, so a timeout or a stop ends whatever the hook started too.
// Why not Boost.Process: Boost 1.74 ships only its v1, which needs Boost.Filesystem linked and,
// for timeouts, a process-wide SIGCHLD handler; a blocking spawn-and-poll here has neither.
// Must not: know what the events mean; that is hook_runner's.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partshift::hooks {

struct process_request {
    std::string path;     // the executable, run with no arguments
    std::string log_tag;  // prefix of each logged output line ("hook before-cutover")
    // Set in the child's environment over the inherited one.
    std::vector<std::pair<std::string, std::string>> env;
    // Which inherited variables the child keeps (name, value); all of them when empty.
    std::function<bool(std::string_view, std::string_view)> inherit;
    std::chrono::milliseconds timeout{60'000};
    const std::atomic<bool>* stop = nullptr;  // when it turns true, the hook is ended
};

struct process_result {
    bool started = false;
    int exit_code = -1;  // when it exited by itself
    int signal = 0;      // when a signal ended it
    bool timed_out = false;
    bool stopped = false;  // ended because *stop turned true
    std::string error;     // why it could not be started
    double seconds = 0;
    bool ok() const { return started && exit_code == 0 && !timed_out && !stopped; }
    // describe: "exited with 1", "timed out after 2.0 s", "could not be started: …".
    std::string describe() const;
};

// run_process blocks until the process has ended (by itself, by the timeout or the stop) and
// been reaped.
process_result run_process(const process_request& request);

}  // namespace partshift::hooks
