// hook_process: posix_spawn, a pipe read with poll(), waitpid; every handle owned by RAII.
#include "partshift/hooks/hook_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
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

// child_group: a started child, leader of its own process group. The destructor ends the
// group and reaps the child if that has not happened yet, so no path (an exception included)
// leaves an unfinished hook running or a zombie behind. What a hook started in the background
// and left running after it exited by itself is the hook's business.
class child_group {
  public:
    explicit child_group(pid_t pid) : pid_(pid) {}
    ~child_group() {
        if (reaped_) return;
        ::kill(-pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    child_group(const child_group&) = delete;
    child_group& operator=(const child_group&) = delete;

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
        while (clock::now() < until)
            if (try_reap(status))
                return;
            else
                std::this_thread::sleep_for(20ms);
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
    }

  private:
    pid_t pid_;
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
        result.error = path + ": " + std::strerror(rc);
        return result;
    }
    result.started = true;
    child_group child(pid);
    write_end.reset();  // the child holds the only write end now: EOF once it (and its own) exit

    line_logger lines(request.log_tag);
    const auto deadline = started_at + request.timeout;
    int status = 0;
    bool exited = false;
    bool eof = false;
    char buffer[4096];
    for (;;) {
        if (!eof) {
            pollfd p{read_end.get(), POLLIN, 0};
            if (::poll(&p, 1, 100) > 0) {
                const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
                if (n > 0)
                    lines.feed(buffer, static_cast<size_t>(n));
                else if (n == 0 || errno != EINTR)
                    eof = true;
            }
        } else {
            std::this_thread::sleep_for(20ms);
        }
        if (child.try_reap(status)) {
            exited = true;
            // What the hook wrote before it exited is in the pipe; a background child it left
            // holding the pipe open must not keep partshift waiting.
            while (!eof) {
                pollfd p{read_end.get(), POLLIN, 0};
                if (::poll(&p, 1, 0) <= 0) break;
                const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
                if (n <= 0) break;
                lines.feed(buffer, static_cast<size_t>(n));
            }
            break;
        }
        if (request.stop && request.stop->load()) {
            result.stopped = true;
            break;
        }
        if (clock::now() >= deadline) {
            result.timed_out = true;
            break;
        }
    }
    if (!exited) child.end(2s, status);
    lines.flush();
    result.seconds = std::chrono::duration<double>(clock::now() - started_at).count();
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    return result;
}

}  // namespace partshift::hooks
