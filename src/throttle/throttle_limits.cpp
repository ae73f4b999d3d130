// throttle_limits: parsing and describing throttle limits. No I/O.
#include "partshift/throttle/throttle_limits.hpp"

#include <fmt/ranges.h>

#include <cctype>
#include <vector>

#include "partshift/error.hpp"

namespace partshift::throttle {
namespace {

std::optional<int64_t> positive_integer(const std::string& text) {
    if (text.empty() || text.size() > 12) return std::nullopt;
    for (char c : text)
        if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    const int64_t n = std::stoll(text);
    if (n < 1) return std::nullopt;
    return n;
}

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        const size_t end = text.find(sep, start);
        out.push_back(text.substr(start, end - start));
        if (end == std::string::npos) return out;
        start = end + 1;
    }
}

}  // namespace

load_limits parse_load_spec(const std::string& spec) {
    load_limits limits;
    const std::string usage =
        "--max-load takes NAME=N items separated by commas, NAME one of active_backends, "
        "waiting_backends (e.g. active_backends=40,waiting_backends=10)";
    if (spec.empty()) throw usage_error(usage + ", not an empty value");
    for (const auto& item : split(spec, ',')) {
        const size_t eq = item.find('=');
        if (eq == std::string::npos) throw usage_error(usage + "; '" + item + "' has no '='");
        const std::string name = item.substr(0, eq);
        const auto value = positive_integer(item.substr(eq + 1));
        if (!value)
            throw usage_error("--max-load: '" + item + "' needs a whole number of at least 1");
        if (name == "active_backends")
            limits.active_backends = value;
        else if (name == "waiting_backends")
            limits.waiting_backends = value;
        else
            throw usage_error(usage + "; '" + name + "' is not one of them");
    }
    return limits;
}

std::string describe(const throttle_limits& limits) {
    std::vector<std::string> parts;
    if (limits.max_replica_lag)
        parts.push_back("max-replica-lag " + std::to_string(limits.max_replica_lag->count()) +
                        "ms");
    if (limits.max_load.active_backends)
        parts.push_back("active_backends " + std::to_string(*limits.max_load.active_backends));
    if (limits.max_load.waiting_backends)
        parts.push_back("waiting_backends " + std::to_string(*limits.max_load.waiting_backends));
    if (limits.throttle_query) parts.push_back("throttle-query");
    return fmt::format("{}", fmt::join(parts, ", "));
}

double parse_copy_rate(const std::string& text, const std::string& option) {
    std::string number = text;
    if (number.size() > 2 && number.compare(number.size() - 2, 2, "/s") == 0)
        number.resize(number.size() - 2);
    const bool zero = number == "0";
    const auto value = positive_integer(number);
    if (!zero && !value)
        throw usage_error("--" + option +
                          " takes rows per second, like 5000 or 5000/s (0: no "
                          "ceiling), not '" +
                          text + "'");
    return zero ? 0.0 : static_cast<double>(*value);
}

}  // namespace partshift::throttle
