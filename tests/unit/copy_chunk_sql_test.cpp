// Unit tests for the copier's SQL text: predicates, COPY statements, and that values only
// travel as parameters.
#include <gtest/gtest.h>

#include "partshift/copy/chunk_sql.hpp"

using namespace partshift;
using namespace partshift::copy;

namespace {

quoted_copy_spec composite() {
    quoted_copy_spec s;
    s.source = R"("public"."Order Lines")";
    s.target = R"("public"."Order Lines_new")";
    s.columns = {R"("a")", R"("b")", R"("v")"};
    s.key_columns = {R"("a")", R"("b")"};
    s.key_types = {"text", "integer"};
    return s;
}

}  // namespace

TEST(CopyChunkSql, PredicateForEachBoundShape) {
    auto s = composite();
    EXPECT_EQ(range_predicate(s, {}), "true");
    EXPECT_EQ(range_predicate(s, {key_value{"x'; DROP", "1"}, std::nullopt}),
              R"(("a", "b") >= (current_setting('partshift.chunk_lower_1')::text, )"
              R"(current_setting('partshift.chunk_lower_2')::integer))");
    EXPECT_EQ(range_predicate(s, {std::nullopt, key_value{"y", "2"}}),
              R"(("a", "b") < (current_setting('partshift.chunk_upper_1')::text, )"
              R"(current_setting('partshift.chunk_upper_2')::integer))");
    auto both = range_predicate(s, {key_value{"x", "1"}, key_value{"y", "2"}});
    EXPECT_NE(both.find(" AND "), std::string::npos);
}

TEST(CopyChunkSql, ValuesOnlyAsParameters) {
    chunk_bounds b{key_value{"x'; DROP TABLE t; --", "1"}, key_value{"y", "2"}};
    auto sql = snapshot_sql(b);
    EXPECT_EQ(sql,
              "SELECT pg_current_wal_insert_lsn()::text, "
              "set_config('partshift.chunk_lower_1', $1, true), "
              "set_config('partshift.chunk_lower_2', $2, true), "
              "set_config('partshift.chunk_upper_1', $3, true), "
              "set_config('partshift.chunk_upper_2', $4, true)");
    auto params = snapshot_params(b);
    ASSERT_EQ(params.size(), 4u);
    EXPECT_EQ(*params[0], "x'; DROP TABLE t; --");
    EXPECT_EQ(*params[3], "2");
    EXPECT_EQ(copy_out_sql(composite(), b).find("DROP"), std::string::npos);
    EXPECT_EQ(insert_select_sql(composite(), b).find("DROP"), std::string::npos);
    EXPECT_EQ(snapshot_sql({}), "SELECT pg_current_wal_insert_lsn()::text");
    EXPECT_TRUE(snapshot_params({}).empty());
}

TEST(CopyChunkSql, CopyStatements) {
    auto s = composite();
    EXPECT_EQ(copy_out_sql(s, {}),
              R"(COPY (SELECT "a", "b", "v" FROM "public"."Order Lines" WHERE true) TO STDOUT )"
              R"((FORMAT binary))");
    EXPECT_EQ(copy_in_sql(s),
              R"(COPY "public"."Order Lines_new" ("a", "b", "v") FROM STDIN (FORMAT binary))");
    EXPECT_EQ(insert_select_sql(s, {std::nullopt, key_value{"y", "2"}}),
              R"(INSERT INTO "public"."Order Lines_new" ("a", "b", "v") OVERRIDING SYSTEM VALUE )"
              R"(SELECT "a", "b", "v" FROM "public"."Order Lines" WHERE ("a", "b") < )"
              R"((current_setting('partshift.chunk_upper_1')::text, )"
              R"(current_setting('partshift.chunk_upper_2')::integer))");
    EXPECT_EQ(boundary_sample_sql(s),
              R"(SELECT "a"::text, "b"::text FROM (SELECT "a", "b", row_number() OVER (ORDER BY )"
              R"("a", "b") AS partshift_rn FROM "public"."Order Lines") s WHERE partshift_rn % $1 )"
              R"(= 0 ORDER BY partshift_rn)");
    EXPECT_EQ(lock_source_sql(s), R"(LOCK TABLE "public"."Order Lines" IN ACCESS SHARE MODE)");
    EXPECT_TRUE(is_integer_type("bigint"));
    EXPECT_FALSE(is_integer_type("numeric"));
}

TEST(CopyChunkSql, DescribeBounds) {
    EXPECT_EQ(describe_bounds({}), "[-inf, +inf)");
    EXPECT_EQ(describe_bounds({key_value{"a", "1"}, std::nullopt}), "[(a, 1), +inf)");
}

TEST(CopyChunkSql, TextList) {
    EXPECT_EQ(text_list({R"("a")", R"("b c")"}), R"("a"::text, "b c"::text)");
    EXPECT_EQ(text_list({R"("a")"}), R"("a"::text)");
    EXPECT_EQ(text_list({}), "");
}
