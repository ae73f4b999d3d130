// log_setup: sinks and format of the default logger.
#include "partshift/cli/log_setup.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>

#include "partshift/error.hpp"
#include "partshift/monitor/json_log_formatter.hpp"
#include "partshift/monitor/terminal_sink.hpp"

namespace partshift::cli {

log_format take_log_format(arguments& args) {
    log_format format = log_format::text;
    for (size_t i = 0; i < args.size();) {
        std::string value;
        size_t taken = 0;
        if (args[i] == "--log-format") {
            if (i + 1 >= args.size()) throw usage_error("--log-format takes text or json");
            value = args[i + 1];
            taken = 2;
        } else if (args[i].rfind("--log-format=", 0) == 0) {
            value = args[i].substr(13);
            taken = 1;
        } else {
            ++i;
            continue;
        }
        if (value == "json")
            format = log_format::json;
        else if (value == "text")
            format = log_format::text;
        else
            throw usage_error("--log-format takes text or json, not '" + value + "'");
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                   args.begin() + static_cast<std::ptrdiff_t>(i + taken));
    }
    return format;
}

void setup_logging(log_format format) {
    // Logs go to stderr so stdout stays clean for plan scripts and --json output.
    std::shared_ptr<spdlog::logger> logger;
    if (format == log_format::json) {
        // No colours and no progress line: every line is one JSON object.
        logger = std::make_shared<spdlog::logger>(
            "partshift", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        logger->set_formatter(monitor::make_json_log_formatter());
    } else {
        if (::isatty(STDERR_FILENO) == 1) {
            // On a terminal, log lines and the copy progress line share stderr without
            // clashing.
            auto sink = std::make_shared<monitor::terminal_sink>(
                std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
            logger = std::make_shared<spdlog::logger>("partshift", sink);
        } else {
            logger = std::make_shared<spdlog::logger>(
                "partshift", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
        }
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    }
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
    if (const char* level = std::getenv("PARTSHIFT_LOG_LEVEL"))
        spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace partshift::cli
