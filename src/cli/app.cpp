// cli::run: picks the subcommand, sets up logging, and maps errors to exit codes (DESIGN.md §5).
// Wiring only: no SQL and no migration logic here.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/program_options/errors.hpp>
#include <cstring>
#include <unistd.h>
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/error.hpp"
#include "partshift/monitor/terminal_sink.hpp"

namespace partshift::cli {
namespace {

struct command_entry {
    const char* name;
    int (*handler)(const arguments&);
    const char* summary;
};

constexpr command_entry commands[] = {
    {"plan", command_plan, "show the partitioned table partshift would create (changes nothing)"},
    {"run", command_run, "copy, stream and cut over (or --dry-run: follow without cutover)"},
    {"status", command_status, "show a job's phase, progress and lag"},
    {"cutover", command_cutover, "ask a running job (--postpone-cutover) to cut over now"},
    {"verify", command_verify, "compare source and target by row counts and checksums"},
    {"abort", command_abort, "drop everything a job created; the source stays as it was"},
    {"pause", command_pause, "pause a job's copy (the stream and the apply go on)"},
    {"resume", command_resume, "let a paused copy go on"},
    {"set", command_set, "change a job's --max-copy-rate or --max-lag while it runs"},
    {"revert", command_revert, "swap back to the original table in the revert window"},
    {"finish", command_finish, "end the revert window (keep the partitioned table)"},
};

void print_usage(std::ostream& out) {
    out << "usage: partshift COMMAND [OPTIONS]\n\ncommands:\n";
    for (const auto& c : commands) out << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
    out << "\n'partshift COMMAND --help' lists a command's options.\n"
           "exit codes: 0 done, 1 runtime failure, 2 bad usage or input, 3 preflight failed,\n"
           "            4 cutover not performed (source untouched), 5 stopped by the WAL-retention\n"
           "            guard (checkpoint kept)\n";
}

void setup_logging() {
    // Logs go to stderr so stdout stays clean for plan scripts and --json output.
    std::shared_ptr<spdlog::logger> logger;
    if (::isatty(STDERR_FILENO) == 1) {
        // On a terminal, log lines and the copy progress line share stderr without clashing.
        auto sink = std::make_shared<monitor::terminal_sink>(
            std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
        logger = std::make_shared<spdlog::logger>("partshift", sink);
    } else {
        logger = spdlog::stderr_color_mt("partshift");
    }
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
    if (const char* level = std::getenv("PARTSHIFT_LOG_LEVEL"))
        spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

int run(int argc, char** argv) {
    setup_logging();
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
        print_usage(argc < 2 ? std::cerr : std::cout);
        return argc < 2 ? static_cast<int>(exit_code::bad_input) : 0;
    }
    if (std::strcmp(argv[1], "--version") == 0) {
        std::cout << "partshift 0.1.0\n";
        return 0;
    }
    const command_entry* chosen = nullptr;
    for (const auto& c : commands)
        if (std::strcmp(argv[1], c.name) == 0) chosen = &c;
    if (!chosen) {
        std::cerr << "partshift: unknown command '" << argv[1] << "' (try partshift --help)\n";
        return static_cast<int>(exit_code::bad_input);
    }
    arguments args(argv + 2, argv + argc);
    try {
        return chosen->handler(args);
    } catch (const partshift::error& e) {
        std::cerr << "partshift: " << e.what() << "\n";
        return static_cast<int>(e.code());
    } catch (const boost::program_options::error& e) {
        std::cerr << "partshift " << chosen->name << ": " << e.what() << " (try partshift "
                  << chosen->name << " --help)\n";
        return static_cast<int>(exit_code::bad_input);
    } catch (const std::exception& e) {
        std::cerr << "partshift: " << e.what() << "\n";
        return static_cast<int>(exit_code::runtime_failure);
    }
}

}  // namespace partshift::cli
