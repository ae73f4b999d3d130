// state::settle_source and describe_source (issue 21 item 2): where a setting in effect came
// from when a run starts, and how status and the log say it.
#include <gtest/gtest.h>

#include "partshift/state/setting_sources.hpp"

namespace {

using partshift::state::describe_source;
using partshift::state::setting_source;
using partshift::state::settle_source;

TEST(SettingSources, CommandLineWinsThenKeptThenDefault) {
    const setting_source set{"set", "2026-12-06T12:03:04Z", "", ""};
    EXPECT_EQ(settle_source(true, set, true).source, "command line");
    EXPECT_EQ(settle_source(true, std::nullopt, false).at, "") << "now, filled in by the row";
    // Without the flag: what `set` or an earlier command line left is kept, and says so.
    EXPECT_EQ(settle_source(false, set, true),
              (setting_source{"kept from an earlier run", "2026-12-06T12:03:04Z", "set", ""}));
    const setting_source line{"command line", "2026-12-06T11:00:00Z", "", ""};
    EXPECT_EQ(settle_source(false, line, true).kept_from, "command line");
    // Kept twice: still where it first came from.
    const auto kept = settle_source(false, set, true);
    EXPECT_EQ(settle_source(false, kept, true), kept);
    // A default stays a default; nothing known and nothing held: default.
    EXPECT_EQ(settle_source(false, setting_source{"default", "", "", ""}, true).source, "default");
    EXPECT_EQ(settle_source(false, std::nullopt, false).source, "default");
    // A job of an older partshift: a value in the row, no source.
    EXPECT_EQ(settle_source(false, std::nullopt, true),
              (setting_source{"kept from an earlier run", "", "", ""}));
}

TEST(SettingSources, Described) {
    EXPECT_EQ(describe_source({"command line", "2026-12-06T11:00:00Z", "", ""}), "command line");
    EXPECT_EQ(describe_source({"set", "2026-12-06T12:03:04Z", "", ""}),
              "set at 2026-12-06T12:03:04Z");
    EXPECT_EQ(describe_source({"kept from an earlier run", "2026-12-06T12:03:04Z", "set", ""}),
              "kept from an earlier run (set at 2026-12-06T12:03:04Z)");
    EXPECT_EQ(describe_source({"kept from an earlier run", "", "command line", ""}),
              "kept from an earlier run (command line)");
    EXPECT_EQ(describe_source({"kept from an earlier run", "", "", ""}),
              "kept from an earlier run");
    EXPECT_EQ(describe_source({"default", "", "", ""}), "default");
    // `partshift cutover --revert-window` (issue 21: the window it gave was not shown).
    EXPECT_EQ(describe_source({"cutover", "2026-12-06T12:05:00Z", "", "10 min 0 s"}),
              "cutover at 2026-12-06T12:05:00Z");
}

}  // namespace
