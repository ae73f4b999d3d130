// Unit tests for `partshift status` without --job (issue 21 item 2): one line a job with its
// phase, progress, lag, time left and last error; a JSON array of the one-job objects.
#include <gtest/gtest.h>

#include "partshift/monitor/status_list.hpp"

using namespace partshift;
using namespace partshift::monitor;

namespace {

proto::status_report copying() {
    proto::status_report s;
    s.set_job("events");
    s.set_phase("copy");
    s.set_running(true);
    s.set_rows_estimate(200000);
    s.set_rows_copied(100000);
    s.set_rows_in_flight(12000);
    s.set_copy_seconds_left(16);
    s.set_index_seconds_left(-1);
    s.set_catch_up_seconds_left(-1);
    s.set_lag_bytes(33.0 * 1024 * 1024);
    s.set_lag_seconds(21);
    return s;
}

proto::status_report stopped_following() {
    proto::status_report s;
    s.set_job("orders");
    s.set_phase("follow");
    s.set_running(false);
    s.set_cutover_state("catching up before the cutover");
    s.set_copy_seconds_left(-1);
    s.set_index_seconds_left(-1);
    s.set_catch_up_seconds_left(-1);
    s.set_lag_bytes(1.2 * 1024 * 1024);
    s.set_lag_seconds(4);
    s.set_last_error("connection to server lost\nwhile applying");
    return s;
}

}  // namespace

TEST(StatusList, ProgressSaysWhereEachPhaseStands) {
    EXPECT_EQ(progress_cell(copying()), "~56% copied");
    auto s = copying();
    s.set_phase("index");
    s.set_index_builds_done(3);
    s.set_index_builds_total(12);
    EXPECT_EQ(progress_cell(s), "index 3/12");
    EXPECT_EQ(progress_cell(stopped_following()), "catching up before the cutover");
    s.set_phase("done");
    EXPECT_EQ(progress_cell(s), "cut over");
    s.set_revert_state("open");
    EXPECT_EQ(progress_cell(s), "cut over, revert window open");
}

TEST(StatusList, TimeLeftOfTheStageOrADash) {
    EXPECT_EQ(time_left_cell(copying()), "~16 s left");
    EXPECT_EQ(time_left_cell(stopped_following()), "-");  // not running: nothing is measured
    auto s = copying();
    s.set_phase("follow");
    s.set_catch_up("converging");
    s.set_catch_up_seconds_left(72);
    EXPECT_EQ(time_left_cell(s), "~1 min 12 s left");
    s.set_catch_up("not converging");
    EXPECT_EQ(time_left_cell(s), "not converging");
    s.set_catch_up("caught up");
    EXPECT_EQ(time_left_cell(s), "caught up");
    s.set_catch_up("");
    EXPECT_EQ(time_left_cell(s), "-");
}

TEST(StatusList, OneLineAJobUnderAHeader) {
    const auto text = status_list_to_text({copying(), stopped_following()});
    EXPECT_EQ(text,
              "JOB     PHASE                 PROGRESS                        LAG            "
              "TIME LEFT   LAST ERROR\n"
              "events  copy                  ~56% copied                     33.0 MB, 21 s  "
              "~16 s left  -\n"
              "orders  follow (not running)  catching up before the cutover  1.2 MB, 4.0 s  "
              "-           connection to server lost while applying\n");
    EXPECT_EQ(status_list_to_text({}), "no partshift job in this database\n");
}

TEST(StatusList, JsonIsAnArrayOfTheOneJobObjects) {
    EXPECT_EQ(status_list_to_json({}), "[]");
    const auto json = status_list_to_json({copying(), stopped_following()});
    ASSERT_EQ(json.front(), '[');
    ASSERT_EQ(json.back(), ']');
    EXPECT_NE(json.find(R"({"job":"events","phase":"copy")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"(},{"job":"orders","phase":"follow")"), std::string::npos) << json;
}

// Issue 21: the list showed no settings. Under a job's row, one line with the settings not at
// their default (the single-job view lists every one); none for a job at its defaults.
TEST(StatusList, ALineUnderAJobWithTheSettingsNotAtTheirDefault) {
    auto changed = copying();
    auto add = [&](const char* name, const char* value, const char* source) {
        auto* s = changed.add_settings();
        s->set_name(name);
        s->set_value(value);
        s->set_source(source);
    };
    add("copy workers", "3", "set");
    add("max copy rate", "4,000 rows/s", "kept from an earlier run");
    add("max lag", "1.0 s", "default");
    add("max lock hold", "3.0 s", "command line");
    add("revert window", "10 min", "cutover");
    add("throttle limits", "none", "");  // a job of an older partshift: source unknown
    auto at_defaults = stopped_following();
    auto* lag = at_defaults.add_settings();
    lag->set_name("max lag");
    lag->set_value("1.0 s");
    lag->set_source("default");
    const auto text = status_list_to_text({changed, at_defaults});
    EXPECT_NE(text.find("~16 s left  -\n"
                        "  settings: copy workers 3 (set), max copy rate 4,000 rows/s (kept), "
                        "max lock hold 3.0 s (command line), revert window 10 min (cutover)\n"
                        "orders  follow"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("settings", text.find("orders  follow")), std::string::npos) << text;
    EXPECT_EQ(changed_settings(at_defaults), "");
}
