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

namespace {

// take_option removes every "--NAME X" / "--NAME=X" from args; the last value, if any.
std::optional<std::string> take_option(arguments& args, const std::string& name) {
    const std::string flag = "--" + name, prefix = flag + "=";
    std::optional<std::string> value;
    for (size_t i = 0; i < args.size();) {
        size_t taken = 0;
        if (args[i] == flag) {
            if (i + 1 >= args.size()) throw usage_error(flag + " needs a value");
            value = args[i + 1];
            taken = 2;
        } else if (args[i].rfind(prefix, 0) == 0) {
            value = args[i].substr(prefix.size());
            taken = 1;
        } else {
            ++i;
            continue;
        }
        args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                   args.begin() + static_cast<std::ptrdiff_t>(i + taken));
    }
    return value;
}

}  // namespace

log_format take_log_format(arguments& args) {
    std::optional<std::string> value;
    try {
        value = take_option(args, "log-format");
    } catch (const usage_error&) {
        throw usage_error("--log-format takes text or json");
    }
    if (!value || *value == "text") return log_format::text;
    if (*value == "json") return log_format::json;
    throw usage_error("--log-format takes text or json, not '" + *value + "'");
}

log_options take_log_options(arguments& args) {
    log_options o;
    o.format = take_log_format(args);
    o.level = take_option(args, "log-level");
    if (o.level) {
        // spdlog reads an unknown name as "off": a typo would silence the log.
        const auto level = spdlog::level::from_str(*o.level);
        if (level == spdlog::level::off && *o.level != "off")
            throw usage_error(
                "--log-level takes trace, debug, info, warn, error, critical or "
                "off, not '" +
                *o.level + "'");
    }
    return o;
}

void setup_logging(log_format format, const std::optional<std::string>& level) {
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
        logger->set_formatter(monitor::make_text_log_formatter());
    }
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
    if (level)
        spdlog::set_level(spdlog::level::from_str(*level));
    else if (const char* env = std::getenv("PARTSHIFT_LOG_LEVEL"))
        spdlog::set_level(spdlog::level::from_str(env));
}

}  // namespace partshift::cli
