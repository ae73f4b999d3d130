// Unit tests for plan::evaluate_dependents and evaluate_naming_triggers (no server): what the
// cutover carries passes, what it cannot fails naming each object and the flag, a warning
// once accepted; triggers whose functions name the table are a warning.
#include <gtest/gtest.h>

#include "partshift/plan/dependents.hpp"

using namespace partshift::plan;

namespace {

const partshift::catalog::qualified_name table{"public", "events"};

dependent_object carried(std::string description, std::string category) {
    return {std::move(description), std::move(category), true, ""};
}

dependent_object stuck(std::string description, std::string category, std::string why) {
    return {std::move(description), std::move(category), false, std::move(why)};
}

bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

}  // namespace

TEST(PlanDependents, CarriedDependentsPass) {
    dependent_facts f;
    f.objects = {carried("rule _RETURN on view public.v", "view"),
                 carried("function public.add(integer)", "sql function"),
                 carried("constraint fk on table public.o", "foreign key")};
    const auto check = evaluate_dependents(f, table, false);
    EXPECT_TRUE(check.ok);
    EXPECT_TRUE(has(check.message, "function public.add(integer)")) << check.message;
    EXPECT_FALSE(has(check.message, "constraint fk")) << check.message;  // its own check
}

TEST(PlanDependents, NothingDependsPasses) {
    const auto check = evaluate_dependents({}, table, false);
    EXPECT_TRUE(check.ok);
    EXPECT_EQ(check.message, "nothing else depends on public.events");
}

TEST(PlanDependents, WhatCannotBeCarriedFailsNamingTheFlag) {
    dependent_facts f;
    f.objects = {carried("rule _RETURN on view public.v", "view"),
                 stuck("column e of table public.holder", "row type", "uses the row type"),
                 stuck("function public.f(integer)", "sql function",
                       "owned by bob, partshift cannot replace it")};
    const auto check = evaluate_dependents(f, table, false);
    EXPECT_FALSE(check.ok);
    EXPECT_TRUE(check.fatal);
    EXPECT_TRUE(has(check.message, "column e of table public.holder (uses the row type)"))
        << check.message;
    EXPECT_TRUE(has(check.message, "owned by bob")) << check.message;
    EXPECT_TRUE(has(check.message, "--allow-uncarried-dependents")) << check.message;
    const auto accepted = evaluate_dependents(f, table, true);
    EXPECT_FALSE(accepted.ok);
    EXPECT_FALSE(accepted.fatal);
    EXPECT_TRUE(has(accepted.message, "(accepted)")) << accepted.message;
}

TEST(PlanDependents, TriggerFunctionsNamingTheTableWarn) {
    dependent_facts f;
    EXPECT_TRUE(evaluate_naming_triggers(f, table).ok);
    f.naming_triggers = {"trigger t on public.payments runs touch()"};
    const auto check = evaluate_naming_triggers(f, table);
    EXPECT_FALSE(check.ok);
    EXPECT_FALSE(check.fatal);
    EXPECT_TRUE(has(check.message, "trigger t on public.payments runs touch()")) << check.message;
}
