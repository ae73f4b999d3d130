// option_table: the commands and their options (see the header). Declarations only: must not
// parse, check or print anything. A help text says what the option does for a user; its
// default is appended by whoever prints it.
#include "partshift/cli/option_table.hpp"

#include <algorithm>
#include <stdexcept>

#include "partshift/cli/duration.hpp"
#include "partshift/cli/run_options_reader.hpp"
#include "partshift/cutover/cutover_settings.hpp"
#include "partshift/migrate/migrator.hpp"
#include "partshift/plan/partition_spec.hpp"

namespace partshift::cli {
namespace {

option_def flag(std::string name, std::string help) {
    return {std::move(name), "", std::move(help), "", value_kind::flag, {}};
}

option_def value(std::string name, std::string value_name, std::string help,
                 std::string default_text = "", value_kind kind = value_kind::text) {
    return {
        std::move(name), std::move(value_name), std::move(help), std::move(default_text), kind, {}};
}

option_def choice(std::string name, std::string value_name, std::string help,
                  std::vector<std::string> choices, std::string default_text = "") {
    return {std::move(name),         std::move(value_name), std::move(help),
            std::move(default_text), value_kind::choice,    std::move(choices)};
}

// pick: the options `names` of group g, in the group's order; without their defaults for a
// command where the option changes a setting rather than starting from one (set).
option_group pick(const option_group& g, std::initializer_list<std::string_view> names,
                  bool with_defaults = true) {
    option_group out{g.title, {}};
    for (const auto& o : g.options)
        if (std::find(names.begin(), names.end(), o.name) != names.end()) {
            out.options.push_back(o);
            if (!with_defaults) out.options.back().default_text.clear();
        }
    if (out.options.size() != names.size())
        throw std::logic_error("option_table: an option picked from " + g.title +
                               " is not declared there");
    return out;
}

// reworded: group g with option `name` explained otherwise, for a command where it does more
// (status without --job lists every job).
option_group reworded(option_group g, std::string_view name, std::string help) {
    for (auto& o : g.options)
        if (o.name == name) {
            o.help = std::move(help);
            return g;
        }
    throw std::logic_error("option_table: no option " + std::string(name) + " in " + g.title);
}

option_group connection_group() {
    return {"Connection",
            {value("dsn", "DSN",
                   "libpq connection string or URI; PG* environment variables apply as in psql. "
                   "Keep the password out of it: ~/.pgpass (or PGPASSFILE) or a service file "
                   "(service=NAME, PGSERVICEFILE) supply it without showing it to other users"),
             value("job", "NAME",
                   "the job: by default the only job in the database; for run (and plan --spec) "
                   "the new job's name, by default the job file's \"job\", else the (first) "
                   "table's name without schema")}};
}

option_group table_group() {
    return {
        "Table",
        {value("table", "NAME", "the table as SQL writes it: billing.events, \"Order Lines\""),
         value("spec", "FILE",
               "migrate several tables in one job (instead of --table and PARTITION-OPTIONS): "
               "a JSON job file listing the tables and their partition options; one slot, one "
               "applier, one cutover transaction for all of them",
               "", value_kind::file),
         value("target-name", "NAME",
               "name of the partitioned table until cutover (default NAME_new)"),
         value("old-name", "NAME", "name the original table gets at cutover (default NAME_old)"),
         flag("trust-table-owner",
              "accept that functions the table's owner wrote (in its CHECKs, defaults, index "
              "expressions, column types, ...) run with this role's rights; without it, "
              "preflight fails (exit 3) when the owner is neither this role nor a superuser"),
         flag("allow-uncarried-dependents",
              "accept that objects depending on the table which the cutover cannot carry over "
              "(inheritance children, columns and functions using its row type, ...) stay "
              "bound to the old table; without it, preflight fails (exit 3) when there are "
              "any"),
         flag("partman",
              "after the cutover, register the table with pg_partman (create_parent, same "
              "interval and premake) so its maintenance creates future partitions; plan "
              "checks that it can"),
         value("next-partitions", "N",
               "for a table already partitioned by RANGE (after a cutover): print the "
               "statements that create the N partitions after its last one (interval or step "
               "from the job, or --interval/--step)")}};
}

option_group copy_group() {
    const migrate::run_options defaults;
    return {
        "Copy and stream",
        {value("copy-workers", "N",
               "parallel chunk copies and index builds, 1 to 64 ('partshift set' changes it "
               "while the job runs)",
               std::to_string(defaults.copy_workers)),
         value("apply-workers", "K",
               "apply lanes, 1 to 16: changes go to K target sessions by key, each committing "
               "its own batches; helps when the apply backend is the bottleneck (kept with the "
               "job; 'partshift set' changes it while the job runs)",
               "1"),
         choice("copy-method", "METHOD",
                "insert: each chunk is one INSERT ... SELECT inside the server (fastest); "
                "copy: binary COPY through partshift (about a third less WAL; what a "
                "--max-copy-rate ceiling uses)",
                {"insert", "copy"}, default_copy_method),
         flag("no-origin-filter",
              "PostgreSQL 16+: let the walsender decode partshift's own copy and apply writes "
              "(by default they carry a replication origin the slot skips, when the cluster "
              "has no other origin); on a resumed job it turns a filter off, never on"),
         value("spool-dir", "DIR", "where the durable change spool lives (a subdirectory per job)",
               default_spool_dir, value_kind::directory),
         value("slot-timeout", "DURATION",
               "how long creating the slot may wait for transactions already running",
               format_duration(defaults.slot_timeout)),
         value("reconnect-for", "DURATION",
               "when the server goes away (restart, failover), how long to keep trying to "
               "resume",
               format_duration(defaults.reconnect_for))}};
}

option_group cutover_group() {
    const migrate::run_options run;
    const cutover::cutover_settings settings;
    return {
        "Cutover",
        {flag("dry-run", "copy, stream and follow, reporting lag; never cut over"),
         value("dry-run-for", "DURATION",
               "with --dry-run: stop after following this long (e.g. 10m), checkpoint saved"),
         flag("postpone-cutover", "follow until 'partshift cutover' is run"),
         value("postpone-cutover-flag", "FILE",
               "wait while this file exists (or until 'partshift cutover')", "", value_kind::file),
         value("max-lag", "DURATION", "cut over once lag is at most this",
               format_duration(run.max_lag)),
         value("max-lock-hold", "DURATION",
               "longest time the tables may stay locked in one attempt; past it, roll back and "
               "retry",
               format_duration(settings.max_lock_hold)),
         choice("cutover-when", "WHEN",
                "lag: cut over once lag is at most --max-lag; tail-fits: also while the lag is "
                "over it, once the tail the lock would wait for (the unapplied changes at the "
                "applier's measured pace; writers wait under the lock) is estimated at most "
                "half of --max-lock-hold: for a source the applier cannot catch up with",
                {"lag", "tail-fits"}, "lag"),
         value("lock-timeout", "DURATION",
               "how long each attempt waits for its lock (application statements queue behind "
               "it for at most this long)",
               format_duration(settings.lock_timeout)),
         value("cutover-attempts", "N", "lock attempts before giving up (exit 4), 1 to 10000",
               std::to_string(settings.attempts)),
         value("cutover-terminate-blockers-after", "DURATION",
               "terminate client sessions that have blocked the lock for this long (never "
               "autovacuum against wraparound; off unless given)"),
         flag("verify",
              "compare source and target (counts and checksums per key range) first, and refuse "
              "to cut over on a mismatch"),
         flag("drop-unrepointable-fks",
              "drop inbound foreign keys that cannot reference the swapped-in table (or, between "
              "tables of a --spec job, leave them off the partitioned tables); without it such "
              "keys make preflight fail"),
         value("revert-window", "DURATION",
               "after the cutover, keep the original table current from the partitioned one for "
               "this long (e.g. 24h), so 'partshift revert' can swap back without losing a "
               "write; given to 'partshift cutover', it replaces the run's"),
         value("keep-as", "NAME",
               "revert: the name the partitioned table gets (default NAME_partitioned)"),
         flag("no-wait",
              "return once the request is recorded, without waiting for the outcome (revert: "
              "when a run follows the window)")}};
}

option_group throttling_group() {
    return {"Throttling",
            {value("max-replica-lag", "DURATION",
                   "throttle the copy and the index build while a physical standby's "
                   "write/flush/replay lag is over this"),
             value("max-load", "SPEC",
                   "throttle the copy and the index build while the server is busier than "
                   "this: active_backends=N,waiting_backends=N"),
             value("max-copy-rate", "ROWS/s",
                   "copy at most this many rows per second, the index build keeping to it too "
                   "(0: no ceiling; kept with the job, 'partshift set' changes it)"),
             value("catch-up-pace", "PERCENT",
                   "while the lag is over --max-lag (after the copy, a resume or a burst), "
                   "stream and apply only this share of the time, in 50 ms slices, leaving the "
                   "rest of the server to the application; lifted while the lag would not shrink "
                   "at that pace (100: full speed; kept with the job, 'partshift set' changes it "
                   "while the job runs)",
                   "100"),
             value("throttle-query", "SQL",
                   "throttle the copy and the index build while this query returns a number > 0"),
             value("slot-wal-limit", "SIZE",
                   "WAL-retention guard: the most WAL the slot may pin (e.g. 20G, 512MB, 1GiB), "
                   "besides the server's max_slot_wal_keep_size; warn at 50%, throttle the copy "
                   "at 75%, stop at 90%")}};
}

option_group hooks_group() {
    const migrate::run_options defaults;
    return {"Hooks",
            {value("hooks-dir", "DIR",
                   "run the executables named before-copy, after-copy, before-cutover, "
                   "after-cutover, on-failure, on-status in DIR at those events (a failing "
                   "before-cutover postpones the cutover)",
                   "", value_kind::directory),
             value("hooks-timeout", "DURATION",
                   "a hook still running after this long is ended (and counts as failed)",
                   format_duration(defaults.hooks_timeout)),
             value("hooks-status-interval", "DURATION", "how often the on-status hook runs",
                   format_duration(defaults.status_hook_interval))}};
}

option_group output_group() {
    return {"Output", {flag("json", "print JSON instead of text")}};
}

option_group observability_group() {
    const migrate::run_options run;
    return {
        "Observability",
        {value("metrics-addr", "HOST:PORT", "serve Prometheus metrics at http://HOST:PORT/metrics"),
         value("metrics-linger", "DURATION",
               "once the job is done, keep serving metrics until the next scrape, at most this "
               "long; 0s stops at once",
               format_duration(run.metrics_linger)),
         choice(log_format_option, "FORMAT",
                "log lines as text, or as json: one JSON object per line", {"text", "json"},
                "text"),
         choice(log_level_option, "LEVEL",
                "least severe log lines shown; replaces PARTSHIFT_LOG_LEVEL",
                {"trace", "debug", "info", "warn", "error", "critical", "off"}, "info")}};
}

option_group documentation_group() {
    return {"Documentation",
            {flag("man", "print the man page (roff), made from these definitions"),
             choice("completion", "SHELL", "print the shell completion script", {"bash"})}};
}

option_group logs() {
    return pick(observability_group(), {log_format_option, log_level_option});
}

// status_groups: status without --job lists every job, which its --job and --json say.
std::vector<option_group> status_groups() {
    return {
        reworded(connection_group(), "job", "the job (default: every job, one line each)"),
        reworded(output_group(), "json", "print one JSON object (without --job: an array of them)"),
        logs()};
}

}  // namespace

option_group partition_options_group() {
    auto text = [](std::string name, std::string value_name, std::string help) {
        return value(std::move(name), std::move(value_name), std::move(help));
    };
    return {"Partition options",
            {choice("partition-by", "METHOD", "range | list | hash", {"range", "list", "hash"}),
             text("key", "COLUMN", "partition key column"),
             text("interval", "INTERVAL",
                  "range on a date/timestamp column: '1 month', '7 days', '1 year', '6 hours'"),
             text("step", "N", "range on an integer column: width of each partition"),
             text("values", "V1,V2,...",
                  "list: values, split on commas (omit to discover them from the data)"),
             text("modulus", "N", "hash: number of partitions"),
             choice("subpartition-by", "METHOD", "second level: range | list | hash",
                    {"range", "list", "hash"}),
             text("subkey", "COLUMN", "second-level key column"),
             text("subinterval", "INTERVAL", "second-level range interval"),
             text("substep", "N", "second-level range step"),
             text("subvalues", "V1,V2,...", "second-level list values"),
             text("submodulus", "N", "second-level hash modulus"),
             value("premake", "N",
                   "range: future partitions to create beyond the data and now, as "
                   "pg_partman's premake",
                   std::to_string(plan::default_premake)),
             flag("default-partition", "create a DEFAULT partition"),
             flag("no-default-partition",
                  "no DEFAULT partition (list gets one unless this is given)")}};
}

std::vector<option_group> option_groups() {
    return {connection_group(),   table_group(),   partition_options_group(),
            copy_group(),         cutover_group(), throttling_group(),
            hooks_group(),        output_group(),  observability_group(),
            documentation_group()};
}

namespace {

// The commands that plan and run a migration.
std::vector<command_def> migration_commands() {
    const auto dsn_job = connection_group();
    const auto cutover = cutover_group();
    return {
        {"plan",
         "show the partitioned table partshift would create (changes nothing)",
         {"partshift plan --dsn DSN --table NAME PARTITION-OPTIONS [--target-name NAME] [--json] "
          "[--partman]",
          "partshift plan --dsn DSN --spec FILE [--job NAME] [--json]",
          "partshift plan --dsn DSN --table NAME --next-partitions N [--job NAME | --interval I | "
          "--step N]"},
         "Shows the partitioned table partshift would create and checks that the server, the "
         "role and the table are ready. Changes nothing. Exit codes: 0 ready, 1 runtime failure "
         "(e.g. cannot connect), 2 bad input, 3 preflight failed (the plan is printed anyway).",
         {dsn_job,
          pick(table_group(), {"table", "spec", "target-name", "trust-table-owner",
                               "allow-uncarried-dependents", "partman", "next-partitions"}),
          partition_options_group(), pick(cutover, {"drop-unrepointable-fks"}), output_group(),
          logs()},
         command_plan},
        {"run",
         "copy, stream and cut over (or --dry-run: follow without cutover)",
         {"partshift run --dsn DSN --table NAME PARTITION-OPTIONS [options]",
          "partshift run --dsn DSN --spec FILE [options]"},
         "Copies the table into a partitioned one while streaming its changes, follows them "
         "until lag is small, then swaps the tables under a brief lock (not with --dry-run). "
         "Run it again with the same options to resume a stopped job.",
         {dsn_job,
          pick(table_group(), {"table", "spec", "target-name", "old-name", "trust-table-owner",
                               "allow-uncarried-dependents", "partman"}),
          partition_options_group(), copy_group(),
          pick(cutover, {"dry-run", "dry-run-for", "postpone-cutover", "postpone-cutover-flag",
                         "max-lag", "max-lock-hold", "cutover-when", "lock-timeout",
                         "cutover-attempts", "cutover-terminate-blockers-after", "verify",
                         "drop-unrepointable-fks", "revert-window"}),
          throttling_group(), hooks_group(), observability_group()},
         command_run},
    };
}

// The commands that act on an existing job, and help.
std::vector<command_def> job_commands() {
    const auto dsn_job = connection_group();
    const auto cutover = cutover_group();
    return {
        {"status",
         "show a job's phase, progress and lag, or without --job every job's",
         {"partshift status [--dsn DSN] [--job NAME] [--json]"},
         "Shows a job's phase, progress, lag and the settings in effect, read from the database, "
         "and the server's version with the version-dependent features the job uses (the origin "
         "filter on PostgreSQL 16+, a failover slot on 17+, idle_replication_slot_timeout on 18). "
         "Without --job, one line "
         "for every job (phase, progress, lag, time left, last error).",
         status_groups(),
         command_status},
        {"cutover",
         "ask a running job (--postpone-cutover) to cut over now",
         {"partshift cutover [--dsn DSN] [--job NAME] [--revert-window DURATION] [--no-wait]"},
         "Asks the run of a job started with --postpone-cutover to cut over now, then waits for "
         "the outcome (exit 4: not cut over, both tables untouched).",
         {dsn_job, pick(cutover, {"revert-window", "no-wait"}), logs()},
         command_cutover},
        {"verify",
         "compare source and target by row counts and checksums",
         {"partshift verify [--dsn DSN] [--job NAME] [--json]"},
         "Compares a job's plain and partitioned tables by row counts and checksums per key "
         "range (exit 1 on a difference).",
         {dsn_job, output_group(), logs()},
         command_verify},
        {"abort",
         "drop everything a job created; the source stays as it was",
         {"partshift abort [--dsn DSN] [--job NAME]"},
         "Drops everything the job created (target, slot, publication, spool, its rows); the "
         "source table stays as it was.",
         {dsn_job, logs()},
         command_abort},
        {"pause",
         "pause a job's copy (the stream and the apply go on)",
         {"partshift pause [--dsn DSN] [--job NAME]"},
         "Holds a job's copy from any shell; the stream and the apply go on.",
         {dsn_job, logs()},
         command_pause},
        {"resume",
         "let a paused copy go on",
         {"partshift resume [--dsn DSN] [--job NAME]"},
         "Lets a paused copy go on.",
         {dsn_job, logs()},
         command_resume},
        {"set",
         "change a job's --max-copy-rate, --max-lag, --copy-workers, --apply-workers or "
         "--catch-up-pace while it runs",
         {"partshift set [--dsn DSN] [--job NAME] [--max-copy-rate ROWS/s] [--max-lag DURATION] "
          "[--copy-workers N] [--apply-workers K] [--catch-up-pace PERCENT]"},
         "Changes a job's settings from any shell: a running run applies them within a second, "
         "the next run starts with them.",
         {dsn_job, pick(copy_group(), {"copy-workers", "apply-workers"}, false),
          pick(cutover, {"max-lag"}, false),
          pick(throttling_group(), {"max-copy-rate", "catch-up-pace"}, false), logs()},
         command_set},
        {"revert",
         "swap back to the original table in the revert window",
         {"partshift revert [--dsn DSN] [--job NAME] [--keep-as NAME] [--no-wait]"},
         "Swaps back to the original table during the revert window: asks the run that follows "
         "the window, or, with no run, follows it here until the swap back is done (the lock "
         "options apply then).",
         {dsn_job,
          pick(cutover, {"keep-as", "no-wait", "lock-timeout", "max-lock-hold", "cutover-attempts",
                         "drop-unrepointable-fks"}),
          logs()},
         command_revert},
        {"finish",
         "end the revert window (keep the partitioned table)",
         {"partshift finish [--dsn DSN] [--job NAME]"},
         "Ends the revert window without a swap: the partitioned table stays, the original is "
         "kept as NAME_old but no longer follows it.",
         {dsn_job, logs()},
         command_finish},
        {"help",
         "a command's options, the man page (--man) or the shell completion (--completion bash)",
         {"partshift help [COMMAND]", "partshift help --man", "partshift help --completion bash"},
         "Prints a command's help (as COMMAND --help does), or the man page or the shell "
         "completion, both made from the same option definitions as --help.",
         {documentation_group()},
         command_help},
    };
}

}  // namespace

std::vector<command_def> command_table() {
    auto commands = migration_commands();
    for (auto& c : job_commands()) commands.push_back(std::move(c));
    return commands;
}

std::vector<std::pair<int, std::string>> exit_code_table() {
    return {{0, "done, or stopped on request with the checkpoint saved"},
            {1, "runtime failure (the reason on stderr and in the job's last_error)"},
            {2, "bad usage or bad input"},
            {3, "preflight failed; the message says how to fix it"},
            {4, "cutover not performed; the source is untouched"},
            {5,
             "stopped by the WAL-retention guard before the slot would be invalidated "
             "(checkpoint kept), or (PostgreSQL 18) the server invalidated a stopped job's slot "
             "for idle_replication_slot_timeout"}};
}

const command_def* find_command(const std::vector<command_def>& commands, std::string_view name) {
    for (const auto& c : commands)
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace partshift::cli
