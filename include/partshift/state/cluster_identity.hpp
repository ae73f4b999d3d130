// cluster_identity: which cluster and database a connection is on, as a job's spool records
// it (spool::spool_identity): the system identifier initdb gave the cluster, and the
// database's OID. Names and markers of spool directories carry both.
// Must not: touch the spool; it only asks the server.
#pragma once

#include "partshift/pg/connection.hpp"
#include "partshift/spool/job_marker.hpp"

namespace partshift::state {

// cluster_identity: pg_control_system()'s system_identifier and current_database()'s OID.
spool::spool_identity cluster_identity(pg::connection& conn);

}  // namespace partshift::state
