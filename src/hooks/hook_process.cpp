// hook_process: posix_spawn, one poll() over the output pipe and a pidfd of the child, waitpid;
// every handle owned by RAII.
#include "partshift/hooks/hook_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "partshift/base/unique_fd.hpp"

extern char** environ;

namespace partshift::hooks {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Output lines longer than this are cut in the log: a hook printing a binary blob must not
// make one log record of megabytes.
constexpr size_t max_line = 4000;

// spawn_file_actions / spawn_attributes: posix_spawn's attribute objects, destroyed on scope
// exit.
struct spawn_file_actions {
    posix_spawn_file_actions_t value;
    spawn_file_actions() { posix_spawn_file_actions_init(&value); }
    ~spawn_file_actions() { posix_spawn_file_actions_destroy(&value); }
    spawn_file_actions(const spawn_file_actions&) = delete;
    spawn_file_actions& operator=(const spawn_file_actions&) = delete;
};

struct spawn_attributes {
    posix_spawnattr_t value;
    spawn_attributes() { posix_spawnattr_init(&value); }
    ~spawn_attributes() { posix_spawnattr_destroy(&value); }
    spawn_attributes(const spawn_attributes&) = delete;
    spawn_attributes& operator=(const spawn_attributes&) = delete;
};

// open_pidfd: a descriptor that turns readable when `pid` exits, or -1. Through syscall():
// Debian 12's <sys/pidfd.h> (glibc 2.36) declares pidfd_open without C linkage.
int open_pidfd(pid_t pid) {
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u));
}

// child_group: a started child, leader of its own process group. The destructor ends the
// group and reaps the child if that has not happened yet, so no path (an exception included)
// leaves an unfinished hook running or a zombie behind. What a hook started in the background
// and left running after it exited by itself is the hook's business.
// A pidfd of the child turns readable when it exits, so waiting for the exit is a poll() that
// wakes at once rather than a sleep-and-retry loop. Where the kernel has no pidfd_open (before
// 5.3) exit_fd() is -1 and the waits fall back to short sleeps.
class child_group {
  public:
    explicit child_group(pid_t pid) : pid_(pid), exit_fd_(open_pidfd(pid)) {}
    ~child_group() {
        if (reaped_) return;
        ::kill(-pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    child_group(const child_group&) = delete;
    child_group& operator=(const child_group&) = delete;

    int exit_fd() const { return exit_fd_.get(); }

    // try_reap: true once the child has exited (status filled in).
    bool try_reap(int& status) {
        if (reaped_) return true;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) reaped_ = true;
        return reaped_;
    }
    // end: SIGTERM to the whole group, SIGKILL if it is still there after `grace`.
    void end(std::chrono::milliseconds grace, int& status) {
        ::kill(-pid_, SIGTERM);
        const auto until = clock::now() + grace;
        while (!try_reap(status)) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
            if (left <= 0ms) {
                ::kill(-pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                reaped_ = true;
                return;
            }
            wait_for_exit(left);
        }
    }
    // wait_for_exit: returns when the child has exited or `most` has passed.
    void wait_for_exit(std::chrono::milliseconds most) const {
        if (!exit_fd_) {
            // No pidfd: a thread has nothing else to wait on for one child's exit without
            // reaping it (SIGCHLD is process-wide and may belong to another hook's thread).
            std::this_thread::sleep_for(std::min(most, std::chrono::milliseconds(20)));
            return;
        }
        pollfd p{exit_fd_.get(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(most.count()));
    }

  private:
    pid_t pid_;
    base::unique_fd exit_fd_;
    bool reaped_ = false;
};

// line_logger: cuts the pipe's bytes into lines and logs each with the hook's tag.
class line_logger {
  public:
    explicit line_logger(std::string tag) : tag_(std::move(tag)) {}
    ~line_logger() { flush(); }
    line_logger(const line_logger&) = delete;
    line_logger& operator=(const line_logger&) = delete;

    void feed(const char* data, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            if (data[i] == '\n') {
                flush();
            } else if (pending_.size() < max_line) {
                pending_ += data[i];
            } else {
                cut_ = true;
            }
        }
    }
    void flush() {
        if (pending_.empty() && !cut_) return;
        if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
        spdlog::info("{}: {}{}", tag_, pending_, cut_ ? " [cut]" : "");
        pending_.clear();
        cut_ = false;
    }

  private:
    std::string tag_;
    std::string pending_;
    bool cut_ = false;
};

// child_environment: the inherited environment (what `inherit` keeps of it) with `extra` set
// over it, as "K=V" strings.
std::vector<std::string> child_environment(const process_request& request) {
    std::map<std::string, std::string> vars;
    for (char** e = environ; e && *e; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq == std::string::npos) continue;
        auto name = entry.substr(0, eq);
        auto value = entry.substr(eq + 1);
        if (!request.inherit || request.inherit(name, value))
            vars[std::move(name)] = std::move(value);
    }
    for (const auto& [k, v] : request.env) vars[k] = v;
    std::vector<std::string> out;
    out.reserve(vars.size());
    for (const auto& [k, v] : vars) out.push_back(k + "=" + v);
    return out;
}

}  // namespace

std::string process_result::describe() const {
    if (!started) return "could not be started: " + error;
    if (stopped) return "was ended: partshift is stopping";
    if (timed_out) return fmt::format("timed out after {:.1f} s and was ended", seconds);
    if (signal) return fmt::format("was killed by signal {}", signal);
    return fmt::format("exited with {}", exit_code);
}

namespace {

// spawn_hook: starts request.path with stdout and stderr on `write_end`, stdin from /dev/null,
// in a process group of its own; the child's pid, or -1 with `error` set.
pid_t spawn_hook(const process_request& request, const base::unique_fd& write_end,
                 std::string& error) {
    spawn_file_actions actions;
    posix_spawn_file_actions_addopen(&actions.value, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions.value, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions.value, write_end.get(), STDERR_FILENO);
    // Nothing of partshift's (server sockets, spool files, the metrics listener) reaches the
    // hook, whether or not it was opened close-on-exec.
    posix_spawn_file_actions_addclosefrom_np(&actions.value, STDERR_FILENO + 1);

    spawn_attributes attributes;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attributes.value, &none);
    posix_spawnattr_setsigdefault(&attributes.value, &defaults);
    // A group of its own: a Ctrl-C on partshift's terminal is partshift's to handle, and a
    // timeout ends the hook's own children too.
    posix_spawnattr_setpgroup(&attributes.value, 0);
    posix_spawnattr_setflags(
        &attributes.value, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    const auto env_strings = child_environment(request);
    std::vector<char*> envp;
    for (const auto& s : env_strings) envp.push_back(const_cast<char*>(s.c_str()));
    envp.push_back(nullptr);
    std::string path = request.path;
    char* argv[] = {path.data(), nullptr};

    pid_t pid = -1;
    if (int rc =
            ::posix_spawn(&pid, path.c_str(), &actions.value, &attributes.value, argv, envp.data());
        rc != 0) {
        error = path + ": " + std::strerror(rc);
        return -1;
    }
    return pid;
}

// read_available: feeds what the pipe holds now to `lines`; false once it reached EOF (or
// failed).
bool read_available(const base::unique_fd& pipe, line_logger& lines) {
    char buffer[4096];
    const ssize_t n = ::read(pipe.get(), buffer, sizeof buffer);
    if (n > 0) {
        lines.feed(buffer, static_cast<size_t>(n));
        return true;
    }
    return n < 0 && errno == EINTR;
}

// How long one wait may last before the stop flag is looked at again: the flag is an atomic a
// poll() cannot wait on, so this bounds how late a stop ends a hook.
constexpr auto stop_check_interval = 100ms;

// follow_child: logs the child's output until it exits, the stop turns true or the deadline
// passes (result.stopped / result.timed_out); true when it exited by itself.
bool follow_child(const process_request& request, child_group& child,
                  const base::unique_fd& read_end, clock::time_point deadline,
                  process_result& result, int& status) {
    line_logger lines(request.log_tag);
    bool eof = false;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::min<clock::duration>(deadline - clock::now(), stop_check_interval));
        const int timeout = static_cast<int>(std::max(left, 0ms).count());
        if (!eof) {
            pollfd p[2] = {{read_end.get(), POLLIN, 0}, {child.exit_fd(), POLLIN, 0}};
            const nfds_t count = child.exit_fd() >= 0 ? 2 : 1;
            if (::poll(p, count, timeout) > 0 && p[0].revents != 0)
                eof = !read_available(read_end, lines);
        } else {
            child.wait_for_exit(std::chrono::milliseconds(timeout));
        }
        if (child.try_reap(status)) {
            // What the hook wrote before it exited is in the pipe; a background child it left
            // holding the pipe open must not keep partshift waiting.
            while (!eof) {
                pollfd p{read_end.get(), POLLIN, 0};
                if (::poll(&p, 1, 0) <= 0) break;
                eof = !read_available(read_end, lines);
            }
            return true;
        }
        if (request.stop && request.stop->load()) {
            result.stopped = true;
            return false;
        }
        if (clock::now() >= deadline) {
            result.timed_out = true;
            return false;
        }
    }
}

}  // namespace

process_result run_process(const process_request& request) {
    process_result result;
    const auto started_at = clock::now();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        result.error = std::string("pipe: ") + std::strerror(errno);
        return result;
    }
    base::unique_fd read_end(fds[0]);
    base::unique_fd write_end(fds[1]);

    const pid_t pid = spawn_hook(request, write_end, result.error);
    if (pid < 0) return result;
    result.started = true;
    child_group child(pid);
    write_end.reset();  // the child holds the only write end now: EOF once it (and its own) exit

    int status = 0;
    if (!follow_child(request, child, read_end, started_at + request.timeout, result, status))
        child.end(2s, status);
    result.seconds = std::chrono::duration<double>(clock::now() - started_at).count();
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    return result;
}

}  // namespace partshift::hooks
