// LSN text form ("16/B374D848", as PostgreSQL prints pg_lsn): formatting and strict parsing.
// Pure; must not accept anything the server would not print or accept as a pg_lsn.
#include <charconv>
#include <cstdio>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::stream {

std::string format_lsn(lsn_t lsn) {
    char buf[24];
    const int n = std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                                static_cast<unsigned>(lsn & 0xFFFFFFFFu));
    return std::string(buf, static_cast<std::size_t>(n));
}

namespace {

// parse_half reads 1..8 hex digits (pg_lsn's input rule) and nothing else.
std::optional<uint32_t> parse_half(std::string_view text) {
    if (text.empty() || text.size() > 8) return std::nullopt;
    uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

std::optional<lsn_t> parse_lsn(const std::string& text) {
    const auto slash = text.find('/');
    if (slash == std::string::npos) return std::nullopt;
    const std::string_view view(text);
    const auto hi = parse_half(view.substr(0, slash));
    const auto lo = parse_half(view.substr(slash + 1));
    if (!hi || !lo) return std::nullopt;
    return (static_cast<lsn_t>(*hi) << 32) | *lo;
}

}  // namespace partshift::stream
