// lane_routing: the rules of the K-lane applier (--apply-workers): which lane a row change
// goes to, which changes run alone behind a barrier (every lane commits before and after),
// and what a lane's saved position says about a change on resume. The target is invisible
// until the cutover, so only per-key order and convergence matter there: one key always goes
// to one lane, and whatever could conflict across lanes is serialized.
// Pure: no connection, no state beyond the arguments. Must not know how lanes send or commit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "partshift/base/apply_lane_limit.hpp"
#include "partshift/catalog/table_model.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::apply {

inline constexpr int max_apply_workers = base::max_apply_lanes;

// lane_of: the lane of one row of relation `relid` (key: key_text of its apply key) among
// `lanes`. Stable across runs, builds and machines (FNV-1a, no std::hash): a resumed run
// must route each key to the lane whose saved position covers it.
size_t lane_of(uint32_t relid, std::string_view key, size_t lanes);

// pinned_to_lane_zero: the table has a UNIQUE index or an exclusion constraint besides its
// apply key, so one key may release a value another key takes: changes of two keys are not
// independent, and all of the table's changes go to lane 0, in source order.
bool pinned_to_lane_zero(const catalog::table_model& table);

enum class change_kind { insert, update, remove, truncate };
// lane_rule: by_key = lane_of the change's key; lane_zero = lane 0 without a barrier;
// barrier = every lane commits what it holds, the change runs on lane 0, and lane 0 commits
// it before any other change is sent.
enum class lane_rule { by_key, lane_zero, barrier };

// rule_for: a key change (UPDATE whose old key differs: two keys, maybe two lanes) and a
// TRUNCATE (every key) need a barrier; a pinned table's other changes go to lane 0. With one
// lane everything is by_key (lane 0): today's single-lane apply, no barrier.
lane_rule rule_for(change_kind kind, bool key_changed, bool pinned, size_t lanes);

// lane_position: what a lane's row in partshift.apply_lanes says. Every change routed to the
// lane of a source transaction whose commit end LSN is at or before `applied` is on the
// target; and of the transaction whose commit LSN is `partial_commit` (a barrier committed
// the lanes in its middle; 0: none), the changes numbered below `partial_changes` (the
// transaction's row changes counted from 0 in stream order, on every lane).
struct lane_position {
    stream::lsn_t applied = 0;
    stream::lsn_t partial_commit = 0;
    int64_t partial_changes = 0;
    bool operator==(const lane_position&) const = default;
};

// already_applied: whether change number `ordinal` of the transaction committed at
// `commit_lsn` (its Begin's final LSN) is on the target by this lane's position. Commit
// records are ordered, so an applied transaction's commit LSN is below the saved end LSN.
bool already_applied(const lane_position& lane, stream::lsn_t commit_lsn, int64_t ordinal);

// slowest_lane: the job's applied LSN over its lanes, the lowest (0 for none): what status,
// slot feedback, the cutover gate and the resume's start go by.
stream::lsn_t slowest_lane(const std::vector<lane_position>& lanes);

// lanes_agree: every lane stands at the same position (a clean stop): the job may then change
// its number of lanes, since no key's lane matters any more.
bool lanes_agree(const std::vector<lane_position>& lanes);

// saved_lane: one row of partshift.apply_lanes.
struct saved_lane {
    size_t lane = 0;
    lane_position position;
};

// lane_plan: the lanes a run starts with and where each stands.
struct lane_plan {
    size_t lanes = 1;
    std::vector<lane_position> positions;  // one per lane
    // The saved rows go (the number of lanes changes where every lane agrees); with one lane
    // left the job's applied_lsn takes their position.
    bool reset_rows = false;
    // `wanted` differs but the saved lanes disagree (a killed run): this run keeps their
    // number, since each key must go to the lane whose position covers it.
    bool kept_saved_count = false;
};

// plan_lanes: `wanted` lanes, each at its saved position (a lane without a row, or every lane
// of a job without rows, at `job_applied`: partshift.jobs.applied_lsn, the one-lane store);
// a change of the number needs lanes that agree on a position with no partial transaction.
lane_plan plan_lanes(const std::vector<saved_lane>& saved, size_t wanted,
                     stream::lsn_t job_applied);

}  // namespace partshift::apply
