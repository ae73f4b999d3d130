// partition_naming: identifier fitting and unique name allocation (see the header). Must stay
// deterministic — the same plan inputs give the same names on every run, because a resumed job
// re-plans and must find the relations it created before.
#include "partshift/plan/partition_naming.hpp"

#include <cstdint>
#include <cstdio>

namespace partshift::plan {
namespace {

// FNV-1a: tiny, stable across platforms and releases (std::hash is neither).
uint32_t fnv1a(std::string_view s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

bool is_utf8_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

std::string fit_identifier(std::string_view name) {
    if (name.size() <= max_identifier_bytes) return std::string(name);
    char suffix[10];
    std::snprintf(suffix, sizeof suffix, "_%08x", fnv1a(name));
    std::size_t keep = max_identifier_bytes - 9;
    // Never cut a multibyte character in half: PostgreSQL would reject the invalid UTF-8.
    while (keep > 0 && is_utf8_continuation(name[keep])) --keep;
    std::string out(name.substr(0, keep));
    while (!out.empty() && out.back() == '_') out.pop_back();
    return out + suffix;
}

std::string label_for_value(std::string_view value) {
    std::string out;
    bool pending_sep = false;
    for (char c : value) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        const bool upper = c >= 'A' && c <= 'Z';
        if (alnum || upper) {
            if (pending_sep && !out.empty()) out += '_';
            pending_sep = false;
            out += upper ? static_cast<char>(c - 'A' + 'a') : c;
        } else {
            pending_sep = true;
        }
    }
    return out.empty() ? std::string("v") : out;
}

void name_allocator::reserve(std::string_view name) {
    used_.insert(std::string(name));
}

std::string name_allocator::take(std::string_view wanted) {
    std::string candidate = fit_identifier(wanted);
    for (int n = 2; used_.count(candidate) > 0; ++n)
        candidate = fit_identifier(std::string(wanted) + "_" + std::to_string(n));
    used_.insert(candidate);
    return candidate;
}

}  // namespace partshift::plan
