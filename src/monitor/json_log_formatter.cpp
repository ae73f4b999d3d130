// json_log_formatter: a pattern with custom flags for the escaped sentence (%*) and the
// line's fields (%~); the text log's pattern, whose %* is the sentence alone.
#include "partshift/monitor/json_log_formatter.hpp"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>

#include "partshift/monitor/log_event.hpp"

namespace partshift::monitor {
namespace {

// utf8_length: the length of the valid UTF-8 sequence at s[i], or 0 when it is not one
// (overlong forms, surrogates and code points past U+10FFFF are not).
size_t utf8_length(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    size_t n = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

class escaped_message : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        std::string out;
        append_json_string_content(
            log_text_of(std::string_view(msg.payload.data(), msg.payload.size())), out);
        dest.append(out.data(), out.data() + out.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<escaped_message>();
    }
};

// field_members: the line's fields as members, each followed by a comma; nothing without.
class field_members : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        auto members = decode_log_payload(std::string_view(msg.payload.data(), msg.payload.size()))
                           .json_members;
        if (members.empty()) return;
        members += ',';
        dest.append(members.data(), members.data() + members.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<field_members>();
    }
};

// sentence: the message without its fields (the text log).
class sentence : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const auto text = log_text_of(std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<sentence>();
    }
};

}  // namespace

void append_json_string_content(std::string_view text, std::string& out) {
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
                case '"':
                    out += "\\\"";
                    break;
                case '\\':
                    out += "\\\\";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    if (c < 0x20 || c == 0x7F)
                        out += fmt::format("\\u{:04x}", c);
                    else
                        out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        if (const size_t n = utf8_length(text, i)) {
            out.append(text.substr(i, n));
            i += n;
        } else {
            out += "\\ufffd";
            ++i;
        }
    }
}

std::unique_ptr<spdlog::formatter> make_json_log_formatter() {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc,
                                                                 std::string("\n"));
    // "time" is "ts" under the name the first JSON logs used (README: Logs for machines).
    formatter->add_flag<escaped_message>('*').add_flag<field_members>('~').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",)"
        R"("pid":%P,%~"msg":"%*"})");
    return formatter;
}

std::unique_ptr<spdlog::formatter> make_text_log_formatter() {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<sentence>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %*");
    return formatter;
}

}  // namespace partshift::monitor
