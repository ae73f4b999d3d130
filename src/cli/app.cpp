// cli::run: picks the subcommand, sets up logging, and maps errors to exit codes (DESIGN.md §5).
// Wiring only: no SQL and no migration logic here.
#include <spdlog/spdlog.h>

#include <libpq-fe.h>
#include <unistd.h>
#include <algorithm>
#include <boost/program_options/errors.hpp>
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/log_setup.hpp"
#include "partshift/cli/option_table.hpp"
#include "partshift/error.hpp"
#include "partshift/job_error.hpp"
#include "partshift/monitor/log_event.hpp"
#include "partshift/pg/conninfo.hpp"

namespace partshift::cli {
namespace {

// report_error: the one line a failure ends with; in JSON, a log object like every other line
// (a log pipeline reading stderr must not meet plain text).
// A failing run's line names its job and the phase it failed in (`job`, `phase`).
void report_error(log_format format, const std::string& line, const job_error* job = nullptr) {
    if (format == log_format::json)
        monitor::log_event(spdlog::level::err,
                           {.job = job ? std::string_view(job->job()) : std::string_view(),
                            .phase = job ? std::string_view(job->phase()) : std::string_view(),
                            .event = "error"},
                           "{}", line);
    else
        std::cerr << line << "\n";
}

// report_error_lines: a message of several lines (every preflight failure at once) as one
// "partshift: " line each, so each stays greppable and a JSON log gets one object per line.
void report_error_lines(log_format format, const partshift::error& e) {
    const std::string message = e.what();
    const auto* job = dynamic_cast<const job_error*>(&e);
    std::size_t start = 0;
    while (true) {
        const auto end = message.find('\n', start);
        report_error(format, "partshift: " + message.substr(start, end - start), job);
        if (end == std::string::npos) return;
        start = end + 1;
    }
}

}  // namespace

void print_usage(std::ostream& out) {
    out << "usage: partshift COMMAND [OPTIONS]\n\ncommands:\n";
    for (const auto& c : command_table())
        out << "  " << c.name << std::string(10 - std::min<size_t>(c.name.size(), 9), ' ')
            << c.summary << "\n";
    out << "\n'partshift COMMAND --help' lists a command's options, by concern.\nexit codes:";
    for (const auto& [code, meaning] : exit_code_table())
        out << (code == 0 ? " " : "            ") << code << " " << meaning << "\n";
    out << "every command also takes --log-format text|json (json: one object per log line) and\n"
           "--log-level LEVEL (or PARTSHIFT_LOG_LEVEL: trace, debug, info, warn, error)\n";
}

int run(int argc, char** argv) {
    arguments all(argv + 1, argv + argc);
    // Every option is parsed from these copies; the originals are what ps and
    // /proc/PID/cmdline show every local user, so a password in --dsn is masked there now.
    for (int i = 1; i < argc; ++i) pg::mask_password_in_place(argv[i]);
    log_options logs;
    try {
        logs = take_log_options(all);
    } catch (const partshift::error& e) {
        setup_logging(log_format::text);
        std::cerr << "partshift: " << e.what() << "\n";
        return static_cast<int>(e.code());
    }
    const log_format format = logs.format;
    setup_logging(format, logs.level);
    if (all.empty() || all[0] == "--help" || all[0] == "-h") {
        print_usage(all.empty() ? std::cerr : std::cout);
        return all.empty() ? static_cast<int>(exit_code::bad_input) : 0;
    }
    if (all[0] == "--version") {
        // Client-only on purpose: no connection, so it answers without a server. 'partshift
        // status' shows the server's version and the features a job uses on it.
        const int lib = PQlibVersion();
        std::cout << "partshift " << PARTSHIFT_VERSION << " (libpq " << lib / 10000 << "."
                  << lib % 10000 << ")\n"
                  << "servers: PostgreSQL 15, 17 and 18 (each tested); origin filter on 16+, "
                     "failover slots on 17+, idle_replication_slot_timeout watched on 18\n";
        return 0;
    }
    const auto commands = command_table();
    const command_def* chosen = find_command(commands, all[0]);
    if (!chosen) {
        report_error(format, "partshift: unknown command '" + all[0] + "' (try partshift --help)");
        return static_cast<int>(exit_code::bad_input);
    }
    arguments args(all.begin() + 1, all.end());
    try {
        return chosen->handler(args);
    } catch (const partshift::error& e) {
        report_error_lines(format, e);
        return static_cast<int>(e.code());
    } catch (const boost::program_options::error& e) {
        report_error(format, std::string("partshift ") + chosen->name + ": " + e.what() +
                                 " (try partshift " + chosen->name + " --help)");
        return static_cast<int>(exit_code::bad_input);
    } catch (const std::exception& e) {
        report_error(format, std::string("partshift: ") + e.what());
        return static_cast<int>(exit_code::runtime_failure);
    }
}

}  // namespace partshift::cli
