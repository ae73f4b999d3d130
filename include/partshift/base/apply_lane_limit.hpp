// apply_lane_limit: the most apply lanes a job may run (--apply-workers). In base/ because the
// applier, the stream's origin filter (one replication origin per lane) and the progress
// figures (one position per lane) all size by it, and stream/ sits below apply/.
#pragma once

namespace partshift::base {

inline constexpr int max_apply_lanes = 16;

}  // namespace partshift::base
