// Unit tests for verify's SQL text: every column hashed, ranges as the copier's predicate,
// keys and limits only as parameters, array parameters escaped.
#include <gtest/gtest.h>

#include "partshift/verify/checksum_sql.hpp"

using namespace partshift;
using namespace partshift::verify;

namespace {

copy::quoted_copy_spec composite() {
    copy::quoted_copy_spec s;
    s.source = R"("public"."Order Lines")";
    s.target = R"("public"."Order Lines_new")";
    s.columns = {R"("a")", R"("b")", R"("v")"};
    s.key_columns = {R"("a")", R"("b")"};
    s.key_types = {"text", "integer"};
    return s;
}

}  // namespace

TEST(VerifyChecksumSql, DigestsHashEveryColumnOverTheRange) {
    auto s = composite();
    copy::chunk_bounds b{copy::key_value{"x'; DROP TABLE t; --", "1"}, std::nullopt};
    EXPECT_EQ(left_digest_sql(s, {}),
              R"(SELECT count(*), coalesce(sum(hashtextextended(ROW("a", "b", "v")::text, 0)), )"
              R"(0)::text FROM "public"."Order Lines" WHERE true)");
    auto right = right_digest_sql(s, b);
    EXPECT_NE(right.find(R"(FROM "public"."Order Lines_new" WHERE ("a", "b") >= )"),
              std::string::npos);
    EXPECT_NE(right.find(R"(GROUP BY "a", "b")"), std::string::npos);
    EXPECT_NE(right.find("count(*) FILTER (WHERE partshift_n > 1)"), std::string::npos);
    for (const auto& sql : {left_digest_sql(s, b), right, duplicate_keys_sql(s, b),
                            diff_keys_sql(s, b), recheck_keys_sql(s)})
        EXPECT_EQ(sql.find("DROP"), std::string::npos) << sql;
}

TEST(VerifyChecksumSql, DiffAndRecheckCompareBothSidesPerKey) {
    auto s = composite();
    auto diff = diff_keys_sql(s, {});
    EXPECT_NE(diff.find(R"(l FULL JOIN)"), std::string::npos);
    EXPECT_NE(diff.find(R"(USING ("a", "b"))"), std::string::npos);
    EXPECT_NE(diff.find("LIMIT $1"), std::string::npos);
    auto recheck = recheck_keys_sql(s);
    EXPECT_NE(recheck.find(R"(unnest($1::text[], $2::integer[]) AS partshift_u("a", "b"))"),
              std::string::npos)
        << recheck;
    EXPECT_NE(recheck.find(R"(WHERE ("a", "b") IN (SELECT "a", "b" FROM partshift_keys))"),
              std::string::npos);
    EXPECT_NE(duplicate_keys_sql(s, {}).find("HAVING count(*) > 1"), std::string::npos);
}
