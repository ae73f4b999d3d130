// terminal_sink: interleaves log lines and the status line on stderr.
#include "partshift/monitor/terminal_sink.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace partshift::monitor {

void terminal_sink::sink_it_(const spdlog::details::log_msg& msg) {
    if (!status_.empty()) {
        std::fputs("\r\x1b[K", stderr);  // the log line takes the status line's place
        std::fflush(stderr);
    }
    inner_->log(msg);
    inner_->flush();
    if (!status_.empty()) draw_status_locked();
}

void terminal_sink::draw_status_locked() {
    std::fprintf(stderr, "\r\x1b[K%s", status_.c_str());
    std::fflush(stderr);
}

void terminal_sink::show_status(const std::string& line) {
    std::lock_guard lock(mutex_);
    status_ = line;
    draw_status_locked();
}

void terminal_sink::end_status(const std::string& line) {
    std::lock_guard lock(mutex_);
    status_.clear();
    std::fprintf(stderr, "\r\x1b[K%s\n", line.c_str());
    std::fflush(stderr);
}

std::shared_ptr<terminal_sink> find_terminal_sink() {
    for (const auto& sink : spdlog::default_logger()->sinks())
        if (auto t = std::dynamic_pointer_cast<terminal_sink>(sink)) return t;
    return nullptr;
}

}  // namespace partshift::monitor
