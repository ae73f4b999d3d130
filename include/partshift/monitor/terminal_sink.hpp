// terminal_sink: the log sink for a terminal that also owns the one-line progress display.
// A log line first clears the progress line, prints itself, and redraws the progress line
// below it, so a message never lands on the end of "copy: rows …" (it did, when both wrote
// to stderr on their own). Found by the progress bar among the default logger's sinks.
// Must not: decide what progress says (progress_bar formats it).
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>

namespace partshift::monitor {

class terminal_sink : public spdlog::sinks::base_sink<std::mutex> {
  public:
    // inner: the sink that formats and colours the messages (stderr).
    explicit terminal_sink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}

    // show_status draws `line` as the status line (replacing the previous one); end_status
    // draws it one last time and leaves it in the scrollback.
    void show_status(const std::string& line);
    void end_status(const std::string& line);

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override { inner_->flush(); }
    void set_pattern_(const std::string& pattern) override { inner_->set_pattern(pattern); }
    void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override {
        inner_->set_formatter(std::move(formatter));
    }

  private:
    void draw_status_locked();

    std::shared_ptr<spdlog::sinks::sink> inner_;
    std::string status_;  // empty: no status line on screen
};

// find_terminal_sink: the default logger's terminal_sink, or nullptr (not a terminal).
std::shared_ptr<terminal_sink> find_terminal_sink();

}  // namespace partshift::monitor
