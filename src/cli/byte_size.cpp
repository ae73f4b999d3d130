// byte_size: SIZE option parsing. No I/O.
#include "partshift/cli/byte_size.hpp"

#include <cctype>
#include <limits>

#include "partshift/error.hpp"

namespace partshift::cli {

int64_t parse_size(const std::string& text, const std::string& option) {
    auto bad = [&] {
        return usage_error("--" + option +
                           " takes a size like 512MB, 20G, 1GiB or 1048576 (bytes), not '" + text +
                           "'");
    };
    size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == 0 || i > 15) throw bad();
    const int64_t number = std::stoll(text.substr(0, i));
    std::string unit = text.substr(i);
    for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // "g", "gb" and "gib" alike: the unit letter, then an optional "b" or "ib".
    if (unit.size() == 3 && unit.substr(1) == "ib") unit.resize(1);
    if (unit.size() == 2 && unit[1] == 'b') unit.resize(1);
    int shift = -1;
    if (unit.empty() || unit == "b")
        shift = 0;
    else if (unit == "k")
        shift = 10;
    else if (unit == "m")
        shift = 20;
    else if (unit == "g")
        shift = 30;
    else if (unit == "t")
        shift = 40;
    if (shift < 0 || number < 1) throw bad();
    if (number > (std::numeric_limits<int64_t>::max() >> shift)) throw bad();
    return number << shift;
}

}  // namespace partshift::cli
