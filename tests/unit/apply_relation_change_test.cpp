// Unit tests for apply::relation_change_text: the stop message for DDL on the source during a
// job names columns and types by name and says what to run next (issue 21 item 5).
#include <gtest/gtest.h>

#include "partshift/apply/relation_state.hpp"

using namespace partshift;
using namespace partshift::apply;

namespace {

column_def col(std::string name, uint32_t oid, std::string type) {
    column_def c;
    c.name = std::move(name);
    c.type_oid = oid;
    c.type_name = std::move(type);
    return c;
}

stream::relation_column streamed(std::string name, uint32_t oid) {
    stream::relation_column c;
    c.name = std::move(name);
    c.type_oid = oid;
    return c;
}

const std::string next_step =
    ". A job cannot follow a change of its table's columns: run 'partshift abort --job "
    "events', then run again (the new job copies the columns as they are now)";

}  // namespace

TEST(RelationChange, SameColumnsMatch) {
    EXPECT_EQ(relation_change_text("public.events", "events", {col("id", 20, "bigint")},
                                   {streamed("id", 20)}, {"bigint"}),
              std::nullopt);
}

TEST(RelationChange, ANewColumnIsNamedWithItsTypeAndTheNextStep) {
    EXPECT_EQ(
        relation_change_text("public.events", "events", {col("id", 20, "bigint")},
                             {streamed("id", 20), streamed("severity", 23)}, {"bigint", "integer"}),
        "source table public.events changed during the job: new column \"severity\" "
        "(integer)" +
            next_step);
}

TEST(RelationChange, AColumnMissingFromTheStreamSaysWhy) {
    EXPECT_EQ(relation_change_text("public.events", "events",
                                   {col("id", 20, "bigint"), col("severity", 23, "integer")},
                                   {streamed("id", 20)}, {"bigint"}),
              "source table public.events changed during the job: the stream has no column "
              "\"severity\" (integer) (added to or dropped from the table during the job)" +
                  next_step);
}

TEST(RelationChange, ARetypedColumnNamesBothTypes) {
    EXPECT_EQ(relation_change_text("public.events", "events", {col("v", 23, "integer")},
                                   {streamed("v", 20)}, {"bigint"}),
              "source table public.events changed during the job: column 1 is now \"v\" "
              "(bigint), the job has \"v\" (integer)" +
                  next_step);
}

TEST(RelationChange, AnUnnamedTypeFallsBackToItsOid) {
    auto text = relation_change_text("public.events", "events", {col("id", 20, "bigint")},
                                     {streamed("id", 20), streamed("x", 16385)}, {});
    ASSERT_TRUE(text);
    EXPECT_NE(text->find("new column \"x\" (type oid 16385)"), std::string::npos) << *text;
}
