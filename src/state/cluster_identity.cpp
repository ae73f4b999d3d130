// cluster_identity: one catalog query, every function schema-qualified.
#include "partshift/state/cluster_identity.hpp"

namespace partshift::state {

spool::spool_identity cluster_identity(pg::connection& conn) {
    auto r = conn.exec(
        "SELECT s.system_identifier::pg_catalog.text, d.oid::pg_catalog.text "
        "FROM pg_catalog.pg_control_system() s, pg_catalog.pg_database d "
        "WHERE d.datname = pg_catalog.current_database()");
    return {r.get(0, 0), r.get(0, 1)};
}

}  // namespace partshift::state
