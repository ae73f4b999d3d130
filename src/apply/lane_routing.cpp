// lane_routing: the K-lane applier's pure rules (lane_routing.hpp).
#include "partshift/apply/lane_routing.hpp"

#include <algorithm>

namespace partshift::apply {

size_t lane_of(uint32_t relid, std::string_view key, size_t lanes) {
    if (lanes <= 1) return 0;
    // FNV-1a 64 over the relid's bytes (little-endian, whatever the host) and the key text.
    uint64_t h = 14695981039346656037ull;
    auto mix = [&h](unsigned char byte) {
        h ^= byte;
        h *= 1099511628211ull;
    };
    for (int shift = 0; shift < 32; shift += 8) mix(static_cast<unsigned char>(relid >> shift));
    for (char c : key) mix(static_cast<unsigned char>(c));
    return static_cast<size_t>(h % lanes);
}

bool pinned_to_lane_zero(const catalog::table_model& table) {
    const catalog::index* key_index = table.apply_key();
    return std::any_of(table.indexes.begin(), table.indexes.end(), [&](const catalog::index& i) {
        return &i != key_index && (i.is_unique || i.is_constraint);
    });
}

lane_rule rule_for(change_kind kind, bool key_changed, bool pinned, size_t lanes) {
    if (lanes <= 1) return lane_rule::by_key;
    if (kind == change_kind::truncate) return lane_rule::barrier;
    if (pinned) return lane_rule::lane_zero;  // one lane holds every key of the table
    if (kind == change_kind::update && key_changed) return lane_rule::barrier;
    return lane_rule::by_key;
}

bool already_applied(const lane_position& lane, stream::lsn_t commit_lsn, int64_t ordinal) {
    if (commit_lsn < lane.applied) return true;
    return lane.partial_commit != 0 && commit_lsn == lane.partial_commit &&
           ordinal < lane.partial_changes;
}

stream::lsn_t slowest_lane(const std::vector<lane_position>& lanes) {
    if (lanes.empty()) return 0;
    return std::min_element(lanes.begin(), lanes.end(),
                            [](const auto& a, const auto& b) { return a.applied < b.applied; })
        ->applied;
}

bool lanes_agree(const std::vector<lane_position>& lanes) {
    return std::adjacent_find(lanes.begin(), lanes.end(), std::not_equal_to<>()) == lanes.end();
}

lane_plan plan_lanes(const std::vector<saved_lane>& saved, size_t wanted,
                     stream::lsn_t job_applied) {
    lane_plan plan;
    plan.lanes = std::max<size_t>(wanted, 1);
    size_t saved_count = 0;
    for (const auto& s : saved) saved_count = std::max(saved_count, s.lane + 1);
    if (saved_count == 0) {
        plan.positions.assign(plan.lanes, lane_position{.applied = job_applied});
        return plan;
    }
    std::vector<lane_position> old(saved_count, lane_position{.applied = job_applied});
    for (const auto& s : saved) old[s.lane] = s.position;
    if (saved_count == plan.lanes) {
        plan.positions = std::move(old);
        return plan;
    }
    if (lanes_agree(old) && old.front().partial_commit == 0) {
        plan.positions.assign(plan.lanes, old.front());
        plan.reset_rows = true;
        return plan;
    }
    plan.lanes = saved_count;
    plan.positions = std::move(old);
    plan.kept_saved_count = true;
    return plan;
}

}  // namespace partshift::apply
