// Unit tests for pg::array_literal (no server): NULLs, quoting and escaping of every
// character that means something in array input syntax, empty strings, non-ASCII text.
#include <gtest/gtest.h>

#include "partshift/pg/array_literal.hpp"

using namespace partshift;
using namespace partshift::pg;

TEST(PgArrayLiteral, EmptyAndNull) {
    EXPECT_EQ(array_literal({}), "{}");
    EXPECT_EQ(array_literal({std::nullopt}), "{NULL}");
    EXPECT_EQ(array_literal({std::nullopt, std::nullopt}), "{NULL,NULL}");
    // The text NULL is a value, not a NULL: quoted.
    EXPECT_EQ(array_literal({std::string("NULL"), std::string("null")}), R"({"NULL","null"})");
}

TEST(PgArrayLiteral, QuotesEveryElementAndEscapesQuotesAndBackslashes) {
    EXPECT_EQ(array_literal({std::string("1"), std::string("2")}), R"({"1","2"})");
    EXPECT_EQ(array_literal({std::string("")}), R"({""})");
    EXPECT_EQ(array_literal({std::string("a\"b")}), R"({"a\"b"})");
    EXPECT_EQ(array_literal({std::string("a\\b")}), R"({"a\\b"})");
    EXPECT_EQ(array_literal({std::string("\\\"")}), R"({"\\\""})");
    EXPECT_EQ(array_literal({std::string("a,b"), std::string("{c}"), std::string(" d ")}),
              R"({"a,b","{c}"," d "})");
    EXPECT_EQ(array_literal({std::string("line\nbreak\ttab")}), "{\"line\nbreak\ttab\"}");
    EXPECT_EQ(array_literal({std::string("grüße 日本"), std::nullopt, std::string("'")}),
              R"({"grüße 日本",NULL,"'"})");
}

TEST(PgArrayLiteral, BuiltIncrementally) {
    std::string literal;
    close_array_literal(literal);
    EXPECT_EQ(literal, "{}");
    literal.clear();
    append_array_element(literal, std::string("x"));
    append_array_element(literal, std::nullopt);
    append_array_element(literal, std::string("}"));
    close_array_literal(literal);
    EXPECT_EQ(literal, array_literal({std::string("x"), std::nullopt, std::string("}")}));
}

TEST(PgArrayLiteral, TextValuesQuoteEveryElement) {
    EXPECT_EQ(text_array_literal({}), "{}");
    EXPECT_EQ(text_array_literal({"1", "2"}), R"({"1","2"})");
    EXPECT_EQ(text_array_literal({R"(a"b)", R"(c\d)", "{x,y}", "NULL"}),
              R"({"a\"b","c\\d","{x,y}","NULL"})");
}
