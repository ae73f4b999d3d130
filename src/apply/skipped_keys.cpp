// skipped_keys: the in-memory side of partshift.skipped_keys. No SQL is sent from here.
#include "partshift/apply/skipped_keys.hpp"

namespace partshift::apply {

void skipped_keys::reset(std::vector<std::string> keys) {
    keys_.clear();
    for (auto& k : keys) keys_.insert(std::move(k));
}

bool skipped_keys::remember(const std::string& key) {
    return keys_.insert(key).second;
}

bool skipped_keys::forget(const std::string& key) {
    return !keys_.empty() && keys_.erase(key) > 0;
}

bool skipped_keys::forget_all() {
    bool had = !keys_.empty();
    keys_.clear();
    return had;
}

}  // namespace partshift::apply
