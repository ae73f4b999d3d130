// Unit tests for plan/fk_rules: which inbound foreign keys can follow the source to the
// partitioned table (no server).
#include <gtest/gtest.h>

#include "partshift/plan/fk_rules.hpp"

using namespace partshift;
using namespace partshift::plan;

TEST(PlanFkRules, OnlyExactUniqueKeysCanBeReferenced) {
    catalog::table_model src;
    src.name = {"public", "events"};
    catalog::foreign_key by_id;
    by_id.name = "a_fkey";
    by_id.table = {"public", "a"};
    by_id.referenced_columns = {"id"};
    catalog::foreign_key by_pair = by_id;
    by_pair.name = "b_fkey";
    by_pair.table = {"public", "b"};
    by_pair.referenced_columns = {"created_at", "id"};
    catalog::foreign_key self = by_id;
    self.name = "parent_fkey";
    self.table = src.name;
    src.inbound_fks = {by_id, by_pair, self};

    // The target's primary key was extended to (id, created_at).
    auto problems = inbound_fk_problems(src, {{"id", "created_at"}});
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].name, "a_fkey");  // the self-reference is not reported
    EXPECT_TRUE(inbound_fk_problems(src, {{"id"}, {"created_at", "id"}}).empty());

    catalog::table_model target;
    catalog::index pk;
    pk.is_primary = pk.is_unique = true;
    pk.key_columns = {"id", "created_at"};
    catalog::index partial = pk;
    partial.is_primary = false;
    partial.is_partial = true;
    partial.key_columns = {"id"};
    target.indexes = {pk, partial};
    EXPECT_EQ(unique_keys(target), (std::vector<key_columns>{{"id", "created_at"}}));
}

TEST(PlanFkRules, NotValidIsCutFromTheDefinition) {
    bool not_valid = false;
    EXPECT_EQ(
        fk_definition_without_not_valid("FOREIGN KEY (a) REFERENCES t(id) NOT VALID", &not_valid),
        "FOREIGN KEY (a) REFERENCES t(id)");
    EXPECT_TRUE(not_valid);
    EXPECT_EQ(fk_definition_without_not_valid("FOREIGN KEY (a) REFERENCES t(id)", &not_valid),
              "FOREIGN KEY (a) REFERENCES t(id)");
    EXPECT_FALSE(not_valid);
}
