// Unit tests for `partshift run`'s options → run_request (read_run_options), the one default
// job-name rule, and the option table the parser, --help, the man page and the completion are
// made from. No server.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "partshift/cli/generated_docs.hpp"
#include "partshift/cli/job_name.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/cli/run_options_reader.hpp"
#include "partshift/error.hpp"

using namespace partshift;
using namespace partshift::cli;
using namespace std::chrono_literals;

namespace {

po::variables_map parse(const std::string& command, std::vector<std::string> args) {
    const auto commands = command_table();
    return parse_options(*find_command(commands, command), args);
}

run_request read(std::vector<std::string> extra) {
    std::vector<std::string> args{"--dsn",          "dbname=x", "--table", "billing.events",
                                  "--partition-by", "range",    "--key",   "ts",
                                  "--interval",     "1 month"};
    args.insert(args.end(), extra.begin(), extra.end());
    return read_run_options(parse("run", args));
}

void expect_usage_error(std::vector<std::string> extra, const std::string& needle) {
    try {
        read(extra);
        ADD_FAILURE() << "no error for " << needle;
    } catch (const usage_error& e) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
}

}  // namespace

TEST(CliRunOptions, DefaultsComeFromTheStructsThatHoldThem) {
    const auto r = read({});
    const migrate::run_options run_defaults;
    const cutover::cutover_settings cutover_defaults;
    EXPECT_EQ(r.run.dsn, "dbname=x");
    EXPECT_EQ(r.table, "billing.events");
    EXPECT_FALSE(r.job);
    EXPECT_TRUE(r.run.job.empty());  // named once the table is resolved (job_name)
    EXPECT_FALSE(r.run.dry_run);
    EXPECT_EQ(r.run.cutover.lock_timeout, cutover_defaults.lock_timeout);
    EXPECT_EQ(r.run.cutover.max_lock_hold, cutover_defaults.max_lock_hold);
    EXPECT_EQ(r.run.cutover.attempts, cutover_defaults.attempts);
    EXPECT_FALSE(r.run.cutover.when_tail_fits);
    EXPECT_FALSE(r.run.cutover.terminate_blockers_after);
    EXPECT_EQ(r.run.max_lag, run_defaults.max_lag);
    EXPECT_FALSE(r.run.max_lag_given);
    EXPECT_EQ(r.run.copy_workers, run_defaults.copy_workers);
    EXPECT_FALSE(r.run.copy_workers_given);
    EXPECT_FALSE(r.run.copy_through_partshift);
    EXPECT_EQ(r.run.spool_root, default_spool_dir);
    EXPECT_EQ(r.run.slot_timeout, run_defaults.slot_timeout);
    EXPECT_EQ(r.run.reconnect_for, run_defaults.reconnect_for);
    EXPECT_EQ(r.run.hooks_timeout, run_defaults.hooks_timeout);
    EXPECT_EQ(r.run.status_hook_interval, run_defaults.status_hook_interval);
    EXPECT_FALSE(r.run.max_copy_rate);
    EXPECT_FALSE(r.run.catch_up_pace.has_value());  // the row's, 100 when none
    EXPECT_FALSE(r.run.slot_wal_limit);
    EXPECT_FALSE(r.run.revert_window);
    EXPECT_EQ(r.run.metrics_linger, run_defaults.metrics_linger);
    EXPECT_FALSE(r.run.target_name);
    EXPECT_EQ(r.spec.level1.key, "ts");
    EXPECT_EQ(r.spec.premake, plan::default_premake);  // a range level, --premake not given
    EXPECT_FALSE(r.accepted.trust_table_owner);
    EXPECT_FALSE(r.accepted.allow_uncarried_dependents);
}

TEST(CliRunOptions, ReadsEveryGivenValue) {
    const auto r = read({"--job",
                         "j",
                         "--max-lock-hold",
                         "500ms",
                         "--lock-timeout",
                         "20ms",
                         "--cutover-attempts",
                         "7",
                         "--cutover-terminate-blockers-after",
                         "3s",
                         "--drop-unrepointable-fks",
                         "--trust-table-owner",
                         "--allow-uncarried-dependents",
                         "--metrics-linger",
                         "0s",
                         "--max-lag",
                         "2s",
                         "--copy-workers",
                         "4",
                         "--copy-method",
                         "copy",
                         "--slot-wal-limit",
                         "1G",
                         "--max-copy-rate",
                         "5000/s",
                         "--catch-up-pace",
                         "40%",
                         "--slot-timeout",
                         "30s",
                         "--reconnect-for",
                         "1m",
                         "--revert-window",
                         "24h",
                         "--postpone-cutover",
                         "--verify",
                         "--old-name",
                         "ev_old",
                         "--target-name",
                         "ev_new"});
    EXPECT_EQ(r.job, "j");
    EXPECT_EQ(r.run.cutover.max_lock_hold, 500ms);
    EXPECT_EQ(r.run.cutover.lock_timeout, 20ms);
    EXPECT_EQ(r.run.cutover.attempts, 7);
    EXPECT_EQ(r.run.cutover.terminate_blockers_after, 3s);
    EXPECT_TRUE(r.run.cutover.drop_unrepointable_fks);
    EXPECT_TRUE(r.accepted.drop_unrepointable_fks);
    EXPECT_TRUE(r.accepted.trust_table_owner);
    EXPECT_TRUE(r.accepted.allow_uncarried_dependents);
    EXPECT_EQ(r.run.metrics_linger, 0ms);
    EXPECT_EQ(r.run.max_lag, 2s);
    EXPECT_TRUE(r.run.max_lag_given);
    EXPECT_EQ(r.run.copy_workers, 4);
    EXPECT_TRUE(r.run.copy_workers_given);
    EXPECT_TRUE(r.run.copy_through_partshift);
    EXPECT_EQ(r.run.slot_wal_limit, 1LL << 30);
    EXPECT_EQ(r.run.max_copy_rate, 5000);
    EXPECT_EQ(r.run.catch_up_pace, 40);
    EXPECT_EQ(r.run.slot_timeout, 30s);
    EXPECT_EQ(r.run.reconnect_for, 60s);
    EXPECT_EQ(r.run.revert_window, 24h);
    EXPECT_TRUE(r.run.postpone_cutover);
    EXPECT_TRUE(r.run.verify);
    EXPECT_EQ(r.run.old_name, "ev_old");
    EXPECT_EQ(r.names.target_name, "ev_new");
    EXPECT_EQ(r.run.target_name, "ev_new");  // a resumed job refuses another
}

TEST(CliRunOptions, RelativePathsBecomeAbsolute) {
    const auto r = read({"--hooks-dir", "hooks", "--postpone-cutover-flag", "hold"});
    EXPECT_EQ(r.run.hooks_dir.front(), '/');
    EXPECT_EQ(r.run.postpone_flag_file->front(), '/');
}

TEST(CliRunOptions, RefusesOptionsThatDoNotGoTogether) {
    expect_usage_error({"--dry-run", "--postpone-cutover"}, "--postpone-cutover goes without");
    expect_usage_error({"--dry-run", "--postpone-cutover-flag", "f"}, "--postpone-cutover-flag");
    expect_usage_error({"--dry-run", "--cutover-terminate-blockers-after", "1s"},
                       "--cutover-terminate-blockers-after goes without --dry-run");
    expect_usage_error({"--dry-run-for", "1m"}, "--dry-run-for goes with --dry-run");
    expect_usage_error({"--partman", "--revert-window", "1h"}, "--partman goes without");
    expect_usage_error({"--spec", "job.json"}, "--table goes without --spec");
}

TEST(CliRunOptions, RefusesBadValuesNamingTheOption) {
    expect_usage_error({"--max-lock-hold", "1ms"}, "--max-lock-hold must be at least 10ms");
    expect_usage_error({"--lock-timeout", "soon"}, "--lock-timeout");
    expect_usage_error({"--cutover-attempts", "0"}, "--cutover-attempts takes a number");
    expect_usage_error({"--copy-workers", "65"}, "--copy-workers takes a number from 1 to 64");
    expect_usage_error({"--copy-workers", "two"}, "--copy-workers");
    expect_usage_error({"--copy-method", "pipe"}, "--copy-method is insert or copy");
    expect_usage_error({"--cutover-when", "soon"},
                       "--cutover-when is lag or tail-fits, not 'soon'");
    expect_usage_error({"--slot-wal-limit", "lots"}, "--slot-wal-limit");
    expect_usage_error({"--catch-up-pace", "0"}, "--catch-up-pace takes a number from 1 to 100");
    expect_usage_error({"--catch-up-pace", "150%"}, "--catch-up-pace takes a number from 1 to 100");
    expect_usage_error({"--slot-timeout", "500ms"}, "--slot-timeout must be at least 1s");
    expect_usage_error({"--hooks-timeout", "10ms"}, "--hooks-timeout must be at least 100ms");
    expect_usage_error({"--hooks-status-interval", "10ms"}, "--hooks-status-interval");
    expect_usage_error({"--revert-window", "10ms"}, "--revert-window must be at least 1s");
    expect_usage_error({"--max-load", "threads=3"}, "--max-load");
    expect_usage_error({"--metrics-linger", "soon"}, "--metrics-linger");
}

TEST(CliRunOptions, CutoverWhenTailFits) {
    EXPECT_TRUE(read({"--cutover-when", "tail-fits"}).run.cutover.when_tail_fits);
    EXPECT_FALSE(read({"--cutover-when", "lag"}).run.cutover.when_tail_fits);
}

TEST(CliRunOptions, WithoutTableOrSpecIsBadUsage) {
    try {
        read_run_options(parse("run", {"--dsn", "x"}));
        ADD_FAILURE();
    } catch (const usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("--table NAME or --spec FILE"), std::string::npos);
    }
}

TEST(CliRunOptions, RevertReadsTheSameCutoverSettings) {
    const auto defaults = read_cutover_settings(parse("revert", {}));
    EXPECT_EQ(defaults.max_lock_hold, cutover::cutover_settings{}.max_lock_hold);
    EXPECT_EQ(defaults.lock_timeout, cutover::cutover_settings{}.lock_timeout);
    const auto given =
        read_cutover_settings(parse("revert", {"--max-lock-hold", "1s", "--cutover-attempts", "3",
                                               "--drop-unrepointable-fks"}));
    EXPECT_EQ(given.max_lock_hold, 1s);
    EXPECT_EQ(given.attempts, 3);
    EXPECT_TRUE(given.drop_unrepointable_fks);
}

// plan takes the preflight acceptances run takes, under the same names.
TEST(CliOptionTable, PlanAndRunShareThePreflightAcceptances) {
    for (const char* command : {"plan", "run"}) {
        const auto vm = parse(command, {"--allow-uncarried-dependents", "--trust-table-owner"});
        EXPECT_TRUE(flag(vm, "allow-uncarried-dependents")) << command;
        EXPECT_TRUE(flag(vm, "trust-table-owner")) << command;
    }
}

namespace {

// option_def `name` as `command` declares it.
option_def declared(const std::string& command, const std::string& name) {
    const auto commands = command_table();
    for (const auto& g : find_command(commands, command)->groups)
        for (const auto& o : g.options)
            if (o.name == name) return o;
    ADD_FAILURE() << command << " has no --" << name;
    return {};
}

}  // namespace

// Status without --job lists every job (its help does not say "the only job"); the defaults
// of --metrics-linger and --premake (4, as pg_partman) come from the structs.
TEST(CliOptionTable, HelpOfStatusListAndNewerDefaults) {
    EXPECT_NE(declared("status", "job").help.find("every job, one line each"), std::string::npos);
    EXPECT_NE(declared("status", "json").help.find("an array of them"), std::string::npos);
    EXPECT_EQ(declared("run", "job").help, declared("cutover", "job").help);
    EXPECT_EQ(declared("run", "metrics-linger").default_text, "5s");
    EXPECT_EQ(declared("plan", "premake").default_text, std::to_string(plan::default_premake));
    const auto run = help_text(*find_command(command_table(), "run"));
    EXPECT_NE(run.find("--metrics-linger DURATION"), std::string::npos) << run;
    EXPECT_NE(run.find("--allow-uncarried-dependents"), std::string::npos) << run;
}

TEST(CliJobName, GivenThenJobFileThenTableName) {
    const catalog::qualified_name table{"billing", "events"};
    EXPECT_EQ(job_name(std::string("j"), std::string("f"), table), "j");
    EXPECT_EQ(job_name(std::nullopt, std::string("f"), table), "f");
    EXPECT_EQ(job_name(std::nullopt, std::nullopt, table), "events");
}

TEST(CliOptionTable, EveryCommandHelpShowsGroupsValueNamesAndLogOptions) {
    for (const auto& c : command_table()) {
        const auto help = help_text(c);
        EXPECT_NE(help.find("usage: partshift " + c.name), std::string::npos) << help;
        if (c.name == "help") continue;
        EXPECT_NE(help.find("Connection:"), std::string::npos) << c.name;
        EXPECT_NE(help.find("--job NAME"), std::string::npos) << c.name;
        EXPECT_NE(help.find("--log-format FORMAT"), std::string::npos) << c.name;
        EXPECT_NE(help.find("--log-level LEVEL"), std::string::npos) << c.name;
    }
    const auto run = help_text(*find_command(command_table(), "run"));
    for (const char* title : {"Table:", "Partition options:", "Copy and stream:", "Cutover:",
                              "Throttling:", "Hooks:", "Observability:"})
        EXPECT_NE(run.find(title), std::string::npos) << title;
    EXPECT_NE(run.find("--max-lock-hold DURATION"), std::string::npos);
    EXPECT_NE(run.find("(default 2s)"), std::string::npos);
    EXPECT_NE(run.find("--slot-wal-limit SIZE"), std::string::npos);
}

TEST(CliOptionTable, AnOptionIsDeclaredInOneGroupOnly) {
    std::set<std::string> seen;
    for (const auto& g : option_groups())
        for (const auto& o : g.options) EXPECT_TRUE(seen.insert(o.name).second) << o.name;
    // Every option a command takes is one of them (status words --job and --json its own way).
    for (const auto& c : command_table())
        for (const auto& g : c.groups)
            for (const auto& o : g.options) EXPECT_TRUE(seen.count(o.name)) << c.name << o.name;
}

TEST(CliOptionTable, ManPageAndCompletionCoverEveryOption) {
    const auto man = man_page();
    const auto completion = bash_completion();
    for (const auto& g : option_groups())
        for (const auto& o : g.options) {
            std::string escaped = "\\-\\-";
            for (char ch : o.name) escaped += ch == '-' ? std::string("\\-") : std::string(1, ch);
            EXPECT_NE(man.find(escaped), std::string::npos) << o.name;
            EXPECT_NE(completion.find("--" + o.name), std::string::npos) << o.name;
        }
    for (const auto& c : command_table()) {
        EXPECT_NE(man.find(".B " + c.name + "\n"), std::string::npos) << c.name;
        EXPECT_NE(completion.find("        " + c.name + ") options="), std::string::npos);
    }
}
