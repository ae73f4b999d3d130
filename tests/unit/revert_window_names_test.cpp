// Unit tests for the revert window's reverse job (state/revert_window): the row the swap
// inserts, derived from the job's.
#include <gtest/gtest.h>

#include "partshift/state/job_names.hpp"
#include "partshift/state/revert_window.hpp"

using namespace partshift::state;

namespace {

job_record cut_over_job() {
    job_record j;
    j.job = "events";
    j.source_schema = "billing";
    j.source_table = "events";
    j.target_schema = "billing";
    j.target_table = "events_new";
    j.final_name = "events";
    j.old_name = "events_before";
    j.slot_name = slot_name("shop", "events");
    j.publication_name = object_name("events");
    j.spool_dir =
        "/var/spool/partshift/" + spool_dir_name("7312345678901234567", "16384", "events");
    return j;
}

}  // namespace

TEST(RevertWindowNames, TheReverseJobRunsFromThePartitionedTableIntoTheOriginal) {
    const auto r = reverse_job_for(cut_over_job(), "shop", "spec");
    EXPECT_EQ(r.job, "events.revert");
    EXPECT_EQ(r.reverse_of, "events");
    // After the swap the partitioned table is `events`, the original `events_before`.
    EXPECT_EQ(r.source_schema, "billing");
    EXPECT_EQ(r.source_table, "events");
    EXPECT_EQ(r.target_table, "events_before");
    // The swap back makes `events` the original again and keeps the partitioned one aside.
    EXPECT_EQ(r.final_name, "events");
    EXPECT_EQ(r.old_name, "events_partitioned");
    EXPECT_EQ(r.phase, "follow");
    EXPECT_EQ(r.spec, "spec");
}

TEST(RevertWindowNames, ItsSlotPublicationAndSpoolAreItsOwn) {
    const auto job = cut_over_job();
    const auto r = reverse_job_for(job, "shop", "");
    EXPECT_NE(r.slot_name, job.slot_name);
    EXPECT_NE(r.publication_name, job.publication_name);
    EXPECT_EQ(r.slot_name, slot_name("shop", "events.revert"));
    EXPECT_LE(r.slot_name.size(), 63u);
    // Beside the job's spool, named after it: as unique as the job's (cluster, database, job).
    EXPECT_EQ(r.spool_dir,
              "/var/spool/partshift/7312345678901234567-16384-partshift_events.revert");
    // Another database, another slot: slots are per cluster.
    EXPECT_NE(reverse_job_for(job, "shop2", "").slot_name, r.slot_name);
}

TEST(RevertWindowNames, AChosenNameForThePartitionedTableIsKept) {
    const auto r = reverse_job_for(cut_over_job(), "shop", "", "events_by_month");
    EXPECT_EQ(r.old_name, "events_by_month");
    // A long name is fitted to 63 bytes like every name partshift makes.
    auto job = cut_over_job();
    job.final_name = std::string(60, 'e');
    EXPECT_LE(reverse_job_for(job, "shop", "").old_name.size(), 63u);
}
