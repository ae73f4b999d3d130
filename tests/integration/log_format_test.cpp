// --log-format json through the real binary: a whole dry run (copy, index, replay, follow, a
// hook's output with quotes, backslashes and a byte that is not UTF-8) and a bad-input error
// are logged as one JSON object per line on stderr, nothing else.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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

}  // namespace
