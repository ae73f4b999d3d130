// partition_naming: list value labels and unique name allocation (see the header). Must stay
// deterministic — the same plan inputs give the same names on every run, because a resumed job
// re-plans and must find the relations it created before.
#include "partshift/plan/partition_naming.hpp"

#include "partshift/pg/quote.hpp"

namespace partshift::plan {

using pg::fit_identifier;

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
