// --log-format json through the real binary: a whole dry run (copy, index, replay, follow, a
// hook's output with quotes, backslashes and a byte that is not UTF-8) and a bad-input error
// are logged as one JSON object per line on stderr, nothing else.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/job_driver.hpp"

using namespace partshift::testing;
using namespace std::chrono_literals;

namespace {

// every_line_is_a_json_object: each line parses as an object with time, level and msg; the
// messages, in order.
std::vector<std::string> json_messages(const std::string& text) {
    std::vector<std::string> messages;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        google::protobuf::Struct object;
        EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &object).ok())
            << "not a JSON object: " << line;
        const auto& f = object.fields();
        EXPECT_TRUE(f.count("time") && f.count("level") && f.count("msg")) << line;
        if (f.count("msg")) messages.push_back(f.at("msg").string_value());
    }
    return messages;
}

TEST(LogFormat, JsonIsOneObjectPerLineThroughAWholeDryRun) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    ASSERT_TRUE(load_events_table(db, 2000));
    temp_dir spool;
    const auto hooks = spool.path() + "-hooks";
    std::filesystem::create_directories(hooks);
    {
        std::ofstream(hooks + "/after-copy")
            << "#!/bin/sh\nprintf 'said \"hi\" C:\\\\x \\351t\\351\\n'\n";
        ::chmod((hooks + "/after-copy").c_str(), 0755);
    }
    child_process run({PARTSHIFT_BINARY, "run",           "--log-format",
                       "json",           "--dsn",         db.dsn(),
                       "--table",        "events",        "--partition-by",
                       "range",          "--key",         "ts",
                       "--interval",     "1 month",       "--spool-dir",
                       spool.path(),     "--hooks-dir",   hooks,
                       "--dry-run",      "--dry-run-for", "1s"},
                      spool.path() + "-run.log");
    auto code = run.wait(180s);
    std::filesystem::remove_all(hooks);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 0) << run.log();
    const auto messages = json_messages(run.log());
    EXPECT_GT(messages.size(), 5u);
    auto has = [&](const std::string& text) {
        for (const auto& m : messages)
            if (m.find(text) != std::string::npos) return true;
        return false;
    };
    EXPECT_TRUE(has("phase follow")) << run.log();
    EXPECT_TRUE(has("hook after-copy: said \"hi\" C:\\x \xef\xbf\xbdt\xef\xbf\xbd")) << run.log();

    auto bad = run_partshift({"plan", "--log-format", "json", "--dsn", db.dsn(), "--table",
                              "no_such_table", "--partition-by", "range", "--key", "ts",
                              "--interval", "1 month"});
    EXPECT_EQ(bad.exit_code, 2);
    const auto errors = json_messages(bad.err);
    ASSERT_EQ(errors.size(), 1u) << bad.err;
    EXPECT_NE(errors[0].find("no_such_table"), std::string::npos) << bad.err;

    auto wrong = run_partshift({"status", "--log-format", "yaml"});
    EXPECT_EQ(wrong.exit_code, 2);
    EXPECT_TRUE(one_line(wrong.err)) << wrong.err;
}

// --log-level (issue 21: the level could be set only through PARTSHIFT_LOG_LEVEL, which the
// help never named): the option replaces the environment variable, in text and JSON alike, and
// an unknown level is bad usage instead of spdlog's silent "off".
TEST(LogFormat, LogLevelOptionReplacesTheEnvironmentVariable) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    ASSERT_TRUE(load_events_table(db, 500));
    temp_dir spool;
    auto dry_run = [&](const std::string& env_level, std::vector<std::string> extra) {
        std::vector<std::string> argv{"env",
                                      "PARTSHIFT_LOG_LEVEL=" + env_level,
                                      PARTSHIFT_BINARY,
                                      "run",
                                      "--dsn",
                                      db.dsn(),
                                      "--table",
                                      "events",
                                      "--partition-by",
                                      "range",
                                      "--key",
                                      "ts",
                                      "--interval",
                                      "1 month",
                                      "--spool-dir",
                                      spool.path(),
                                      "--dry-run",
                                      "--dry-run-for",
                                      "300ms"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return run_command(argv);
    };
    auto quiet = dry_run("info", {"--log-level", "warn"});
    ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
    EXPECT_EQ(quiet.err.find("phase follow"), std::string::npos) << quiet.err;
    // A fresh job again, so the second run goes through the same phases.
    ASSERT_EQ(run_partshift({"abort", "--dsn", db.dsn(), "--job", "events"}).exit_code, 0);
    auto loud = dry_run("error", {"--log-level=info", "--log-format", "json"});
    ASSERT_EQ(loud.exit_code, 0) << loud.err;
    const auto messages = json_messages(loud.err);
    EXPECT_TRUE(std::any_of(messages.begin(), messages.end(), [](const std::string& m) {
        return m.find("phase follow") != std::string::npos;
    })) << loud.err;

    auto wrong = run_partshift({"status", "--dsn", db.dsn(), "--log-level", "verbose"});
    EXPECT_EQ(wrong.exit_code, 2);
    EXPECT_TRUE(one_line(wrong.err)) << wrong.err;
    EXPECT_NE(wrong.err.find("--log-level takes trace, debug, info"), std::string::npos)
        << wrong.err;
}

// Issue 21 item 6: a whole run to the swap with --log-format json. Every line is an object;
// the lines a machine acts on carry job, phase and event as fields, in the order of the
// migration (copy -> follow -> cutover -> done), with numbers as JSON numbers.
TEST(LogFormat, JsonLinesCarryJobPhaseAndEventThroughACutover) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    ASSERT_TRUE(load_events_table(db, 2000));
    temp_dir spool;
    auto run = run_partshift({"run", "--log-format", "json", "--dsn", db.dsn(), "--table", "events",
                              "--partition-by", "range", "--key", "ts", "--interval", "1 month",
                              "--spool-dir", spool.path()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    struct line {
        std::string event, job, phase;
        google::protobuf::Struct object;
    };
    std::vector<line> events;
    std::istringstream lines(run.err);
    for (std::string text; std::getline(lines, text);) {
        google::protobuf::Struct object;
        ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &object).ok())
            << "not a JSON object: " << text;
        const auto& f = object.fields();
        ASSERT_TRUE(f.count("ts") && f.count("level") && f.count("msg")) << text;
        if (!f.count("event")) continue;
        auto field = [&](const char* name) {
            return f.count(name) ? f.at(name).string_value() : std::string();
        };
        EXPECT_EQ(field("job"), "events") << text;
        EXPECT_FALSE(field("phase").empty()) << text;
        events.push_back({field("event"), field("job"), field("phase"), object});
    }
    // The milestones, in this order (other events may come between them).
    const std::vector<std::pair<std::string, std::string>> milestones{
        {"start", "copy"},           {"copy_done", "copy"},         {"phase", "follow"},
        {"cutover_start", "follow"}, {"cutover_swapped", "follow"}, {"done", "done"}};
    size_t next = 0;
    for (const auto& e : events) {
        if (next < milestones.size() && e.event == milestones[next].first &&
            e.phase == milestones[next].second) {
            if (e.event == "copy_done") {
                const auto& rows = e.object.fields().at("rows_copied");
                EXPECT_EQ(rows.kind_case(), google::protobuf::Value::kNumberValue);
                EXPECT_EQ(rows.number_value(), 2000);
            }
            if (e.event == "cutover_start") {
                const auto& lag = e.object.fields().at("lag_seconds");
                EXPECT_EQ(lag.kind_case(), google::protobuf::Value::kNumberValue);
            }
            ++next;
        }
    }
    EXPECT_EQ(next, milestones.size()) << "milestones missing or out of order:\n" << run.err;
}

// Issue 21: the `error` line of a failing run carried neither job nor phase. A run that
// stops in follow (a new row no partition takes) ends with an `error` object naming both.
TEST(LogFormat, AFailingRunsErrorLineNamesItsJobAndPhase) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    db.exec(
        "CREATE TABLE orders (id bigint PRIMARY KEY, ts timestamptz NOT NULL); "
        "INSERT INTO orders SELECT g, now() - g * interval '1 hour' FROM generate_series(1, 500) "
        "g");
    temp_dir spool;
    auto run = [&](const char* seconds) {
        return run_partshift({"run", "--log-format", "json", "--dsn", db.dsn(), "--table", "orders",
                              "--partition-by", "range", "--key", "ts", "--interval", "1 month",
                              "--spool-dir", spool.path(), "--dry-run", "--dry-run-for", seconds},
                             120s);
    };
    auto first = run("1s");
    ASSERT_EQ(first.exit_code, 0) << first.err;
    db.exec("INSERT INTO orders VALUES (5000, '2099-01-15 10:00+00')");
    auto stopped = run("30s");
    ASSERT_EQ(stopped.exit_code, 1) << stopped.err;
    const auto& err = stopped.err;
    const std::string last_line = err.substr(err.rfind('\n', err.size() - 2) + 1);
    google::protobuf::Struct object;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(last_line, &object).ok()) << last_line;
    const auto& f = object.fields();
    auto field = [&](const char* name) {
        return f.count(name) ? f.at(name).string_value() : std::string("(none)");
    };
    EXPECT_EQ(field("event"), "error") << last_line;
    EXPECT_EQ(field("level"), "error") << last_line;
    EXPECT_EQ(field("job"), "orders") << last_line;
    EXPECT_EQ(field("phase"), "follow") << last_line;
    EXPECT_NE(field("msg").find("no partition"), std::string::npos) << last_line;
}

// Issue 21: no line said where the applier's checkpoint stood. A `checkpoint` event (info)
// with the positions and the lag, at most every 10 s in a phase: a source written to 5 times
// a second for ~24 s of follow gives a few, not one per batch.
TEST(LogFormat, CheckpointLinesAtMostEveryTenSecondsWithPositionsAndLag) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_database db;
    ASSERT_TRUE(load_events_table(db, 2000));
    temp_dir spool;
    child_process run({PARTSHIFT_BINARY, "run", "--log-format", "json", "--dsn", db.dsn(),
                       "--table", "events", "--partition-by", "range", "--key", "ts", "--interval",
                       "1 month", "--spool-dir", spool.path(), "--dry-run", "--dry-run-for", "25s"},
                      spool.path() + "-run.log");
    wait_for_status(
        db.dsn(), "events", [](const auto& s) { return s.phase() == "follow"; }, 180s, &run,
        "follow");
    auto conn = db.connect();
    while (run.running()) {
        conn.exec("UPDATE events SET amount = amount + 1 WHERE id = 1 + (random() * 1999)::int");
        std::this_thread::sleep_for(200ms);
    }
    auto code = run.wait(60s);
    ASSERT_TRUE(code.has_value());
    ASSERT_EQ(*code, 0) << run.log();
    std::vector<google::protobuf::Struct> checkpoints;
    std::istringstream lines(run.log());
    for (std::string text; std::getline(lines, text);) {
        google::protobuf::Struct object;
        ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &object).ok()) << text;
        const auto& f = object.fields();
        if (f.count("event") && f.at("event").string_value() == "checkpoint")
            checkpoints.push_back(object);
    }
    ASSERT_GE(checkpoints.size(), 2u) << run.log();
    EXPECT_LE(checkpoints.size(), 5u) << "one per batch floods the log:\n" << run.log();
    std::string previous_ts, previous_phase;
    int with_lag = 0;
    for (const auto& c : checkpoints) {
        const auto& f = c.fields();
        EXPECT_EQ(f.at("level").string_value(), "info");
        EXPECT_EQ(f.at("job").string_value(), "events");
        EXPECT_FALSE(f.at("phase").string_value().empty());
        EXPECT_NE(f.at("applied_lsn").string_value().find('/'), std::string::npos);
        EXPECT_NE(f.at("durable_lsn").string_value().find('/'), std::string::npos);
        // The lag, once measured (a run's first ticks have none yet).
        if (f.count("lag_bytes")) {
            ++with_lag;
            EXPECT_EQ(f.at("lag_bytes").kind_case(), google::protobuf::Value::kNumberValue);
            EXPECT_EQ(f.at("lag_seconds").kind_case(), google::protobuf::Value::kNumberValue);
        }
        // "2026-12-06T13:02:11.482113Z": the seconds of the day, enough within a 25 s run.
        const auto& ts = f.at("ts").string_value();
        if (!previous_ts.empty() && f.at("phase").string_value() == previous_phase) {
            auto seconds = [](const std::string& t) {
                return std::stoi(t.substr(11, 2)) * 3600 + std::stoi(t.substr(14, 2)) * 60 +
                       std::stod(t.substr(17, 9));
            };
            double gap = seconds(ts) - seconds(previous_ts);
            if (gap < 0) gap += 86400;
            EXPECT_GE(gap, 9.9) << previous_ts << " then " << ts;
        }
        previous_ts = ts;
        previous_phase = f.at("phase").string_value();
    }
    EXPECT_GE(with_lag, 1) << run.log();
}

}  // namespace
