// slot_manager: creates and drops the job's logical replication slot and publication.
// Slot creation waits for every transaction already running on the server; it is bounded and
// names the backends and the prepared (2PC) transactions that hold it up (PGOUTPUT.md).
#pragma once

#include <utility>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "partshift/pg/connection.hpp"

namespace partshift::stream {

struct created_slot {
    std::string name;
    uint64_t consistent_point = 0;  // L0: changes committed after it are streamed
};

// create_slot_command: the replication command that creates the job's slot on a server of
// `server_version` (PQserverVersion). On PostgreSQL 17+ the slot is a failover slot
// (FAILOVER): a standby with sync_replication_slots keeps a copy, so a failover does not lose
// the migration's slot. Pure.
std::string create_slot_command(const std::string& slot_name, int server_version);

// create_slot creates a persistent pgoutput slot over a replication connection. If it is not
// created within `timeout`, the attempt is cancelled and a preflight_error names the
// transactions that were in the way.
boost::asio::awaitable<created_slot> create_slot(std::string dsn, std::string slot_name,
                                                 std::chrono::seconds timeout);

// slot_exists / drop_slot use SQL on a normal connection. drop_slot also drops the job's
// replication origins (origin_filter.hpp: named after the slot). It refuses (throws) when the
// slot is in use unless terminate_user is set, in which case the walsender using it is
// terminated first.
bool slot_exists(pg::connection& conn, const std::string& slot_name);
void drop_slot(pg::connection& conn, const std::string& slot_name, bool terminate_user);

// create_publication publishes only the source table (DESIGN.md step 2).
void create_publication(pg::connection& conn, const std::string& publication,
                        const std::string& quoted_source);
void drop_publication(pg::connection& conn, const std::string& publication);

}  // namespace partshift::stream
