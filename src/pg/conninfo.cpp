// conninfo: password lookup, removal and masking over PQconninfoParse.
#include "partshift/pg/conninfo.hpp"

#include <libpq-fe.h>

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "partshift/error.hpp"

namespace partshift::pg {
namespace {

struct options_deleter {
    void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using options_handle = std::unique_ptr<PQconninfoOption, options_deleter>;

// parse: libpq's reading of the string; null (and the reason in `error`) when it has none.
options_handle parse(std::string_view conninfo, std::string* error = nullptr) {
    const std::string text(conninfo);
    char* message = nullptr;
    options_handle options(PQconninfoParse(text.c_str(), &message));
    if (message) {
        if (error) *error = message;
        PQfreemem(message);
    }
    return options;
}

bool is_secret(const char* keyword) {
    return std::strcmp(keyword, "password") == 0 || std::strcmp(keyword, "sslpassword") == 0;
}

// secrets: the non-empty password values the string sets.
std::vector<std::string> secrets(const PQconninfoOption* options) {
    std::vector<std::string> out;
    for (auto* o = options; o && o->keyword; ++o)
        if (is_secret(o->keyword) && o->val && *o->val) out.emplace_back(o->val);
    return out;
}

// quoted: a conninfo value in single quotes, with \ and ' escaped (libpq's key='value' form).
std::string quoted(const char* value) {
    std::string out = "'";
    for (const char* c = value; *c; ++c) {
        if (*c == '\'' || *c == '\\') out += '\\';
        out += *c;
    }
    return out + "'";
}

// mask_literal_occurrences: every literal occurrence of `secret` in [begin, end) becomes x's.
void mask_literal_occurrences(char* begin, char* end, const std::string& secret) {
    for (char* at = begin; at + secret.size() <= end;) {
        if (std::memcmp(at, secret.data(), secret.size()) == 0) {
            std::memset(at, 'x', secret.size());
            at += secret.size();
        } else {
            ++at;
        }
    }
}

}  // namespace

std::string conninfo_password(std::string_view conninfo) {
    auto options = parse(conninfo);
    for (auto* o = options.get(); o && o->keyword; ++o)
        if (std::strcmp(o->keyword, "password") == 0 && o->val) return o->val;
    for (auto* o = options.get(); o && o->keyword; ++o)
        if (std::strcmp(o->keyword, "sslpassword") == 0 && o->val) return o->val;
    return "";
}

std::string conninfo_without_password(std::string_view conninfo) {
    if (conninfo.empty()) return "";
    std::string error;
    auto options = parse(conninfo, &error);
    if (!options) throw usage_error("--dsn cannot be parsed: " + error);
    std::string out;
    for (auto* o = options.get(); o->keyword; ++o) {
        if (!o->val || is_secret(o->keyword)) continue;
        if (!out.empty()) out += ' ';
        out += std::string(o->keyword) + "=" + quoted(o->val);
    }
    return out;
}

bool mask_password_in_place(char* text) {
    // The whole string, or what follows "--option=".
    char* value = text;
    if (std::strncmp(text, "--", 2) == 0) {
        char* eq = std::strchr(text, '=');
        if (!eq) return false;
        value = eq + 1;
    }
    char* end = value + std::strlen(value);
    auto options = parse(value);
    const auto found = secrets(options.get());
    if (found.empty()) return false;
    for (const auto& secret : found) mask_literal_occurrences(value, end, secret);
    // What libpq reads now must carry none of them; otherwise a password was written in an
    // encoded form (%40, \' ...) this search cannot find: mask the whole value.
    // (Or libpq cannot read it any more: the search cut through quoting; mask it all too.)
    auto after = parse(value);
    bool still_there = !after;
    for (const auto& left : secrets(after.get()))
        for (const auto& secret : found) still_there = still_there || left == secret;
    if (still_there) std::memset(value, 'x', static_cast<size_t>(end - value));
    return true;
}

}  // namespace partshift::pg
