// job_names: the names partshift derives for a job's server objects (slot, publication) and
// the default target and old names. Pure; unit-tested.
#pragma once

#include <string>
#include <string_view>

namespace partshift::state {

// object_name: "partshift_<job>" as a legal slot/publication name: lowercase [a-z0-9_],
// at most 63 bytes (a short hash keeps truncated names unique), stable for the same job.
std::string object_name(std::string_view job);

// slot_name: replication slots are global to the cluster, while jobs are per database, so the
// slot also carries a short hash of the database name: "partshift_events_1a2b3c4d".
std::string slot_name(std::string_view database, std::string_view job);

// fence_prefix: the logical message prefix of the job's cutover fence, "partshift.fence:<job>".
std::string fence_prefix(std::string_view job);


}  // namespace partshift::state
