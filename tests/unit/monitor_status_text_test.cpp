// Unit tests for monitor::status_to_text's slot line: a done job's slot is gone by design and
// is not shown as "wal_status missing" (issue 21 item 5).
#include <gtest/gtest.h>

#include "partshift/monitor/status_reader.hpp"

using namespace partshift;

namespace {

proto::status_report report(const std::string& phase, const std::string& wal_status) {
    proto::status_report s;
    s.set_job("events");
    s.set_phase(phase);
    s.set_slot_name("partshift_events_1a2b");
    s.set_wal_status(wal_status);
    return s;
}

}  // namespace

TEST(StatusText, ADoneJobsSlotIsDroppedAsPlanned) {
    const auto text = monitor::status_to_text(report("done", "missing"));
    EXPECT_EQ(text.find("missing"), std::string::npos) << text;
    EXPECT_NE(text.find("slot         partshift_events_1a2b, dropped after the cutover as "
                        "planned\n"),
              std::string::npos)
        << text;
}

TEST(StatusText, AFollowingJobShowsItsSlot) {
    const auto text = monitor::status_to_text(report("follow", "reserved"));
    EXPECT_NE(text.find("slot         partshift_events_1a2b, wal_status reserved, retains"),
              std::string::npos)
        << text;
}
