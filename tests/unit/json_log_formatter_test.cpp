// --log-format json: every line is one JSON object that a JSON parser accepts, whatever the
// message holds (quotes, backslashes, newlines, control characters, bytes that are not UTF-8).
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "partshift/cli/log_setup.hpp"
#include "partshift/error.hpp"
#include "partshift/monitor/json_log_formatter.hpp"

namespace {

std::string escaped(std::string_view s) {
    std::string out;
    partshift::monitor::append_json_string_content(s, out);
    return out;
}

TEST(JsonLog, EscapesWhatJsonRequires) {
    EXPECT_EQ(escaped("plain"), "plain");
    EXPECT_EQ(escaped("a \"quoted\" C:\\path"), "a \\\"quoted\\\" C:\\\\path");
    EXPECT_EQ(escaped("two\nlines\r\tand\x01"), "two\\nlines\\r\\tand\\u0001");
    EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    // Not UTF-8: a Latin-1 byte, a cut sequence, an overlong form, a surrogate.
    EXPECT_EQ(escaped("caf\xe9!"), "caf\\ufffd!");
    EXPECT_EQ(escaped("\xe2\x82"), "\\ufffd\\ufffd");
    EXPECT_EQ(escaped("\xc0\xaf"), "\\ufffd\\ufffd");
    EXPECT_EQ(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");
}

TEST(JsonLog, EachMessageIsOneParsableObjectPerLine) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("json-test", sink);
    logger.set_formatter(partshift::monitor::make_json_log_formatter());
    logger.info("hello");
    logger.warn("a \"hook\" said:\nline two\\ \x02 caf\xe9");
    std::istringstream lines(out.str());
    int n = 0;
    for (std::string line; std::getline(lines, line); ++n) {
        google::protobuf::Struct object;
        ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &object).ok()) << line;
        const auto& fields = object.fields();
        ASSERT_TRUE(fields.count("time") && fields.count("level") && fields.count("msg") &&
                    fields.count("pid"))
            << line;
        EXPECT_EQ(fields.at("time").string_value().back(), 'Z') << line;
        if (n == 0) {
            EXPECT_EQ(fields.at("level").string_value(), "info");
            EXPECT_EQ(fields.at("msg").string_value(), "hello");
        } else {
            EXPECT_EQ(fields.at("level").string_value(), "warning");
            EXPECT_EQ(fields.at("msg").string_value(),
                      "a \"hook\" said:\nline two\\ \x02 caf\xef\xbf\xbd");
        }
    }
    EXPECT_EQ(n, 2);
}

TEST(JsonLog, TakeLogFormatRemovesTheOptionAnywhere) {
    using partshift::cli::log_format;
    partshift::cli::arguments args{"run", "--table", "t", "--log-format", "json", "--dry-run"};
    EXPECT_EQ(partshift::cli::take_log_format(args), log_format::json);
    EXPECT_EQ(args, (partshift::cli::arguments{"run", "--table", "t", "--dry-run"}));
    args = {"status", "--log-format=text"};
    EXPECT_EQ(partshift::cli::take_log_format(args), log_format::text);
    EXPECT_EQ(args, (partshift::cli::arguments{"status"}));
    args = {"status", "--log-format", "xml"};
    EXPECT_THROW(partshift::cli::take_log_format(args), partshift::usage_error);
    args = {"status", "--log-format"};
    EXPECT_THROW(partshift::cli::take_log_format(args), partshift::usage_error);
}

}  // namespace
