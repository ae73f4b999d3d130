// Unit tests for the slot creation command per server version (failover slots on 17+).
// No server.
#include <gtest/gtest.h>

#include "partshift/stream/slot_manager.hpp"

using partshift::stream::create_slot_command;

TEST(SlotCommand, FailoverSlotFromPostgres17) {
    EXPECT_EQ(create_slot_command("ps_slot", 150014),
              "CREATE_REPLICATION_SLOT \"ps_slot\" LOGICAL pgoutput (SNAPSHOT 'nothing')");
    EXPECT_EQ(create_slot_command("ps_slot", 160000),
              "CREATE_REPLICATION_SLOT \"ps_slot\" LOGICAL pgoutput (SNAPSHOT 'nothing')");
    EXPECT_EQ(create_slot_command("ps_slot", 170000),
              "CREATE_REPLICATION_SLOT \"ps_slot\" LOGICAL pgoutput (SNAPSHOT 'nothing', "
              "FAILOVER)");
    EXPECT_EQ(create_slot_command("ps_slot", 180001),
              "CREATE_REPLICATION_SLOT \"ps_slot\" LOGICAL pgoutput (SNAPSHOT 'nothing', "
              "FAILOVER)");
}
