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
#include "partshift/monitor/log_event.hpp"

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

// parse_line: one JSON log line as an object (a failed parse fails the test).
google::protobuf::Struct parse_line(const std::string& line) {
    google::protobuf::Struct object;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &object).ok()) << line;
    return object;
}

// Issue 21 item 6: the fields a line carries are members of their own, numbers as numbers,
// strings escaped; the text log shows the sentence alone.
TEST(JsonLog, FieldsAreMembersAndNumbersAreNumbers) {
    using partshift::monitor::log_fields;
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("json-fields-test", sink);
    logger.set_formatter(partshift::monitor::make_json_log_formatter());
    const log_fields lag{.job = "ev\"ents\n",
                         .phase = "follow",
                         .event = "lag",
                         .lag_bytes = 6144,
                         .lag_seconds = 0.036456,
                         .rows_copied = 200000,
                         .rows_total = 199000};
    logger.info(partshift::monitor::encode_log_payload(lag, "lag 6.0 kB, 36 ms"));
    logger.info(partshift::monitor::encode_log_payload({.event = "error"}, "partshift: \"x\""));
    logger.info("plain line");
    std::istringstream lines(out.str());
    std::string line;
    ASSERT_TRUE(std::getline(lines, line));
    auto object = parse_line(line);
    const auto& f = object.fields();
    EXPECT_EQ(f.at("ts").string_value(), f.at("time").string_value()) << line;
    EXPECT_EQ(f.at("msg").string_value(), "lag 6.0 kB, 36 ms");
    EXPECT_EQ(f.at("job").string_value(), "ev\"ents\n");
    EXPECT_EQ(f.at("phase").string_value(), "follow");
    EXPECT_EQ(f.at("event").string_value(), "lag");
    for (const char* number : {"lag_bytes", "lag_seconds", "rows_copied", "rows_total"})
        ASSERT_EQ(f.at(number).kind_case(), google::protobuf::Value::kNumberValue) << number;
    EXPECT_EQ(f.at("lag_bytes").number_value(), 6144);
    EXPECT_DOUBLE_EQ(f.at("lag_seconds").number_value(), 0.036456);
    EXPECT_EQ(f.at("rows_copied").number_value(), 200000);
    EXPECT_EQ(f.at("rows_total").number_value(), 199000);
    EXPECT_NE(line.find("\"lag_bytes\":6144,"), std::string::npos) << "not a bare number: " << line;

    ASSERT_TRUE(std::getline(lines, line));
    object = parse_line(line);
    EXPECT_EQ(object.fields().at("event").string_value(), "error");
    EXPECT_EQ(object.fields().at("msg").string_value(), "partshift: \"x\"");
    EXPECT_EQ(object.fields().count("job"), 0u) << "unset fields are left out: " << line;
    EXPECT_EQ(object.fields().count("lag_bytes"), 0u) << line;

    ASSERT_TRUE(std::getline(lines, line));
    object = parse_line(line);
    EXPECT_EQ(object.fields().at("msg").string_value(), "plain line");
    EXPECT_EQ(object.fields().count("event"), 0u) << line;
}

// Issue 21: the checkpoint event's positions are strings, as status prints LSNs.
TEST(JsonLog, CheckpointPositionsAreStrings) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("json-lsn-test", sink);
    logger.set_formatter(partshift::monitor::make_json_log_formatter());
    logger.info(partshift::monitor::encode_log_payload({.job = "events",
                                                        .event = "checkpoint",
                                                        .applied_lsn = "0/3A2B1C8",
                                                        .durable_lsn = "0/3A2B000"},
                                                       "checkpoint"));
    std::string line = out.str();
    line.pop_back();
    const auto object = parse_line(line);
    EXPECT_EQ(object.fields().at("applied_lsn").string_value(), "0/3A2B1C8") << line;
    EXPECT_EQ(object.fields().at("durable_lsn").string_value(), "0/3A2B000") << line;
}

// A message that only looks encoded (a value that starts with the marker), unknown keys,
// numbers that are not numbers, a second copy of a key: still one valid object, nothing
// spliced in unescaped.
TEST(JsonLog, ForgedFieldsStayValidJson) {
    using partshift::monitor::decode_log_payload;
    auto d = decode_log_payload(
        "\x1ejob=a\"b\x1flag_bytes=12x\x1f"
        "evil\x1fx=1\x1fjob=z\x1f\x1erest");
    EXPECT_EQ(d.text, "rest");
    EXPECT_EQ(d.json_members, "\"job\":\"a\\\"b\"");
    d = decode_log_payload("\x1e\"},{\"injected\":1");  // no closing marker: all text
    EXPECT_EQ(d.text, "\x1e\"},{\"injected\":1");
    EXPECT_EQ(d.json_members, "");
    d = decode_log_payload("\x1elag_seconds=nan\x1frows_total=-3\x1f\x1e");
    EXPECT_EQ(d.json_members, "\"rows_total\":-3");
    EXPECT_EQ(d.text, "");
    // A separator inside a value cannot end the fields early.
    const auto payload = partshift::monitor::encode_log_payload({.job = "a\x1e\x1f"
                                                                        "b"},
                                                                "t");
    d = decode_log_payload(payload);
    EXPECT_EQ(d.text, "t");
    EXPECT_EQ(d.json_members, "\"job\":\"a??b\"");
}

TEST(JsonLog, TextLogShowsTheSentenceAlone) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("text-fields-test", sink);
    logger.set_formatter(partshift::monitor::make_text_log_formatter());
    logger.info(partshift::monitor::encode_log_payload(
        {.job = "events", .phase = "copy", .event = "phase", .rows_copied = 5}, "phase copy"));
    logger.warn("plain");
    const auto text = out.str();
    EXPECT_NE(text.find(" info phase copy\n"), std::string::npos) << text;
    EXPECT_NE(text.find(" warning plain\n"), std::string::npos) << text;
    EXPECT_EQ(text.find('\x1e'), std::string::npos) << text;
    EXPECT_EQ(text.find("events"), std::string::npos) << text;
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
