// Unit tests for catalog::compare_prints and stop_message (no server): each kind of change gets
// the verdict the README promises (columns: abort and start again; indexes, constraints,
// defaults, NOT NULL, changed triggers and policies, dependents the swap cannot carry: stop;
// grants, owner, new triggers and policies, rules, carried dependents: carried).
#include <gtest/gtest.h>

#include "partshift/catalog/schema_print.hpp"
#include "partshift/state/schema_prints.hpp"

using namespace partshift::catalog;

namespace {

std::vector<print_item> base() {
    return {{"column", "id", "#1 bigint"},
            {"column", "v", "#2 integer"},
            {"column not null", "id", "NOT NULL"},
            {"constraint", "events_pkey", "PRIMARY KEY (id)"},
            {"dependent", "view public.ev", "view"},
            {"grants", "", ""},
            {"index", "events_pkey",
             "CREATE UNIQUE INDEX events_pkey ON public.events USING btree (id)"},
            {"owner", "", "alice"},
            {"policy", "p", "FOR * PERMISSIVE TO public USING (true)"},
            {"trigger", "t", "CREATE TRIGGER t ..."},
            {"trigger state", "t", "O"}};
}

print_verdict verdict_after(std::vector<print_item> now) {
    auto d = compare_prints(base(), now);
    EXPECT_EQ(d.size(), 1u);
    return d.empty() ? print_verdict::carried : d.front().verdict;
}

std::vector<print_item> with(print_item extra) {
    auto v = base();
    v.push_back(std::move(extra));
    return v;
}

std::vector<print_item> without(const std::string& kind, const std::string& name) {
    auto v = base();
    std::erase_if(v, [&](auto& i) { return i.kind == kind && i.name == name; });
    return v;
}

std::vector<print_item> changed(const std::string& kind, const std::string& name,
                                std::string text) {
    auto v = base();
    for (auto& i : v)
        if (i.kind == kind && i.name == name) i.text = std::move(text);
    return v;
}

}  // namespace

TEST(SchemaPrint, SamePrintIsNoDifference) {
    EXPECT_TRUE(compare_prints(base(), base()).empty());
    EXPECT_FALSE(stop_message(compare_prints(base(), base()), "public.events", "events"));
}

TEST(SchemaPrint, ColumnsChangedMeanStartAgain) {
    EXPECT_EQ(verdict_after(changed("column", "v", "#2 bigint")), print_verdict::restart);
    EXPECT_EQ(verdict_after(without("column", "v")), print_verdict::restart);
    EXPECT_EQ(verdict_after(with({"column", "w", "#3 text"})), print_verdict::restart);
    auto message = stop_message(compare_prints(base(), changed("column", "v", "#2 bigint")),
                                "public.events", "events");
    ASSERT_TRUE(message);
    EXPECT_NE(message->find("column v changed from '#2 integer' to '#2 bigint'"), std::string::npos)
        << *message;
    EXPECT_NE(message->find("'partshift abort --job events' and start again"), std::string::npos);
}

TEST(SchemaPrint, IndexesConstraintsAndNullabilityStopTheJob) {
    EXPECT_EQ(verdict_after(with({"index", "events_v_idx", "CREATE INDEX events_v_idx ..."})),
              print_verdict::stop);
    EXPECT_EQ(verdict_after(with({"constraint", "v_positive", "CHECK ((v > 0))"})),
              print_verdict::stop);
    EXPECT_EQ(verdict_after(with({"column not null", "v", "NOT NULL"})), print_verdict::stop);
    EXPECT_EQ(verdict_after(with({"column default", "v", "DEFAULT 1"})), print_verdict::stop);
    EXPECT_EQ(verdict_after(changed("trigger", "t", "CREATE TRIGGER t ... other")),
              print_verdict::stop);
    EXPECT_EQ(verdict_after(without("policy", "p")), print_verdict::stop);
    auto message = stop_message(
        compare_prints(base(), with({"index", "events_v_idx", "CREATE INDEX events_v_idx ON x"})),
        "public.events", "events");
    ASSERT_TRUE(message);
    EXPECT_NE(message->find("index events_v_idx was added (CREATE INDEX events_v_idx ON x)"),
              std::string::npos)
        << *message;
    EXPECT_NE(message->find("Undo the change and run again"), std::string::npos);
}

TEST(SchemaPrint, WhatTheSwapReadsUnderItsLockIsCarried) {
    EXPECT_EQ(verdict_after(changed("grants", "", "{alice=arwdDxt/alice,bob=r/alice}")),
              print_verdict::carried);
    EXPECT_EQ(verdict_after(changed("owner", "", "bob")), print_verdict::carried);
    EXPECT_EQ(verdict_after(changed("trigger state", "t", "D")), print_verdict::carried);
    EXPECT_EQ(verdict_after(with({"trigger", "t2", "CREATE TRIGGER t2 ..."})),
              print_verdict::carried);
    EXPECT_EQ(verdict_after(with({"policy", "p2", "FOR r ..."})), print_verdict::carried);
    EXPECT_EQ(verdict_after(with({"rule", "r", "CREATE RULE r AS ..."})), print_verdict::carried);
    EXPECT_EQ(verdict_after(with({"publication", "pub", ""})), print_verdict::carried);
    EXPECT_EQ(verdict_after(with({"dependent", "function public.f(integer)", "sql function"})),
              print_verdict::carried);
    EXPECT_EQ(verdict_after(without("dependent", "view public.ev")), print_verdict::carried);
    EXPECT_FALSE(stop_message(compare_prints(base(), changed("owner", "", "bob")), "public.events",
                              "events"));
}

TEST(SchemaPrint, DependentsTheSwapCannotCarryStopTheJob) {
    EXPECT_EQ(verdict_after(with({"dependent", "column x of table public.t", "row type"})),
              print_verdict::stop);
    EXPECT_EQ(verdict_after(with({"dependent", "table public.child", "inheritance"})),
              print_verdict::stop);
}

TEST(SchemaPrint, AMarkedColumnChangeStopsEveryLaterRun) {
    auto recorded = base();
    recorded.push_back({"!", "", "the schema changed: column v ..."});
    const auto stop = partshift::state::judge_schema_print(recorded, base(), "t", "j");
    EXPECT_EQ(stop.message, "the schema changed: column v ...");
}

TEST(SchemaPrint, NothingRecordedIsNothingToCheck) {
    const auto stop = partshift::state::judge_schema_print({}, base(), "t", "j");
    EXPECT_TRUE(stop.message.empty());
}
