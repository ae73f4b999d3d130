// cli::run: picks the subcommand, sets up logging, and maps errors to exit codes (DESIGN.md §5).
// Wiring only: no SQL and no migration logic here.
#include <spdlog/spdlog.h>

#include <libpq-fe.h>
#include <unistd.h>
#include <boost/program_options/errors.hpp>
#include <cstring>
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/log_setup.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/conninfo.hpp"

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
           "            guard (checkpoint kept)\n"
           "every command also takes --log-format text|json (json: one object per log line)\n";
}

// report_error: the one line a failure ends with; in JSON, a log object like every other line
// (a log pipeline reading stderr must not meet plain text).
void report_error(log_format format, const std::string& line) {
    if (format == log_format::json) spdlog::error("{}", line);
    else std::cerr << line << "\n";
}

}  // namespace

int run(int argc, char** argv) {
    arguments all(argv + 1, argv + argc);
    // Every option is parsed from these copies; the originals are what ps and
    // /proc/PID/cmdline show every local user, so a password in --dsn is masked there now.
    for (int i = 1; i < argc; ++i) pg::mask_password_in_place(argv[i]);
    log_format format = log_format::text;
    try {
        format = take_log_format(all);
    } catch (const partshift::error& e) {
        setup_logging(log_format::text);
        std::cerr << "partshift: " << e.what() << "\n";
        return static_cast<int>(e.code());
    }
    setup_logging(format);
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
                  << "servers: PostgreSQL 15, 17 and 18 (each tested); failover slots on 17+, "
                     "idle_replication_slot_timeout watched on 18\n";
        return 0;
    }
    const command_entry* chosen = nullptr;
    for (const auto& c : commands)
        if (all[0] == c.name) chosen = &c;
    if (!chosen) {
        report_error(format, "partshift: unknown command '" + all[0] + "' (try partshift --help)");
        return static_cast<int>(exit_code::bad_input);
    }
    arguments args(all.begin() + 1, all.end());
    try {
        return chosen->handler(args);
    } catch (const partshift::error& e) {
        report_error(format, std::string("partshift: ") + e.what());
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
