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

// spool_dir_name: the name of a job's spool directory inside the spool root:
// "<system identifier>-<database oid>-<object_name(job)>", e.g.
// "7312345678901234567-16384-partshift_events". One spool root may serve many servers, whose
// databases and jobs may share names; the cluster's system identifier and the database's OID
// keep their spools apart.
std::string spool_dir_name(std::string_view system_identifier, std::string_view database_oid,
                           std::string_view job);

// fence_prefix: the logical message prefix of the job's cutover fence, "partshift.fence:<job>".
std::string fence_prefix(std::string_view job);

}  // namespace partshift::state
