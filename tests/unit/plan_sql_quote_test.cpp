// Unit tests for identifier and literal quoting (no server).
#include <gtest/gtest.h>

#include "partshift/plan/sql_quote.hpp"

using namespace partshift::plan;

TEST(PlanSqlQuote, LeavesPlainLowercaseNamesBare) {
    EXPECT_EQ(quote_ident("orders"), "orders");
    EXPECT_EQ(quote_ident("order_lines2"), "order_lines2");
    EXPECT_EQ(quote_ident("_x$1"), "_x$1");
    // Unreserved keywords need no quotes.
    EXPECT_EQ(quote_ident("name"), "name");
    EXPECT_EQ(quote_ident("year"), "year");
    EXPECT_EQ(quote_ident("partition"), "partition");
}

TEST(PlanSqlQuote, QuotesMixedCaseSpacesAndLeadingDigits) {
    EXPECT_EQ(quote_ident("Orders"), "\"Orders\"");
    EXPECT_EQ(quote_ident("Order Lines"), "\"Order Lines\"");
    EXPECT_EQ(quote_ident("1st"), "\"1st\"");
    EXPECT_EQ(quote_ident("$x"), "\"$x\"");
    EXPECT_EQ(quote_ident(""), "\"\"");
    EXPECT_EQ(quote_ident("a.b"), "\"a.b\"");
}

TEST(PlanSqlQuote, DoublesEmbeddedQuotes) {
    EXPECT_EQ(quote_ident("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(quote_ident("x\"; DROP TABLE t; --"), "\"x\"\"; DROP TABLE t; --\"");
}

TEST(PlanSqlQuote, QuotesReservedColumnAndTypeFuncKeywords) {
    EXPECT_EQ(quote_ident("order"), "\"order\"");          // reserved
    EXPECT_EQ(quote_ident("user"), "\"user\"");            // reserved
    EXPECT_EQ(quote_ident("table"), "\"table\"");          // reserved
    EXPECT_EQ(quote_ident("timestamp"), "\"timestamp\"");  // col_name keyword
    EXPECT_EQ(quote_ident("values"), "\"values\"");        // col_name keyword
    EXPECT_EQ(quote_ident("left"), "\"left\"");            // type_func_name keyword
    EXPECT_EQ(quote_ident("collation"), "\"collation\"");
    EXPECT_TRUE(is_quoting_keyword("all"));
    EXPECT_FALSE(is_quoting_keyword("abort"));
}

TEST(PlanSqlQuote, QuotesNonAsciiNames) {
    EXPECT_EQ(quote_ident("zähler"), "\"zähler\"");
    EXPECT_EQ(quote_ident("日付"), "\"日付\"");
}

TEST(PlanSqlQuote, QuotesLiterals) {
    EXPECT_EQ(quote_literal("abc"), "'abc'");
    EXPECT_EQ(quote_literal("it's"), "'it''s'");
    EXPECT_EQ(quote_literal(""), "''");
    EXPECT_EQ(quote_literal("a\\b"), "E'a\\\\b'");
    EXPECT_EQ(quote_literal("o'\\"), "E'o''\\\\'");
}

TEST(PlanSqlQuote, QualifiesSchemaAndName) {
    EXPECT_EQ(qualified({"public", "orders"}), "public.orders");
    EXPECT_EQ(qualified({"Billing", "order"}), "\"Billing\".\"order\"");
    EXPECT_EQ(qualified({"", "t"}), "t");
}
