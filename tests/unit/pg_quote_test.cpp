// Unit tests for identifier and literal quoting (no server).
#include <gtest/gtest.h>

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"

using namespace partshift;
using namespace partshift::pg;

TEST(PgQuote, LeavesPlainLowercaseNamesBare) {
    EXPECT_EQ(quote_ident("orders"), "orders");
    EXPECT_EQ(quote_ident("order_lines2"), "order_lines2");
    EXPECT_EQ(quote_ident("_x$1"), "_x$1");
    // Unreserved keywords need no quotes.
    EXPECT_EQ(quote_ident("name"), "name");
    EXPECT_EQ(quote_ident("year"), "year");
    EXPECT_EQ(quote_ident("partition"), "partition");
}

TEST(PgQuote, QuotesMixedCaseSpacesAndLeadingDigits) {
    EXPECT_EQ(quote_ident("Orders"), "\"Orders\"");
    EXPECT_EQ(quote_ident("Order Lines"), "\"Order Lines\"");
    EXPECT_EQ(quote_ident("1st"), "\"1st\"");
    EXPECT_EQ(quote_ident("$x"), "\"$x\"");
    EXPECT_EQ(quote_ident(""), "\"\"");
    EXPECT_EQ(quote_ident("a.b"), "\"a.b\"");
}

TEST(PgQuote, DoublesEmbeddedQuotes) {
    EXPECT_EQ(quote_ident("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(quote_ident("x\"; DROP TABLE t; --"), "\"x\"\"; DROP TABLE t; --\"");
}

TEST(PgQuote, QuotesReservedColumnAndTypeFuncKeywords) {
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

TEST(PgQuote, QuotesNonAsciiNames) {
    EXPECT_EQ(quote_ident("zähler"), "\"zähler\"");
    EXPECT_EQ(quote_ident("日付"), "\"日付\"");
}

TEST(PgQuote, QuotesLiterals) {
    EXPECT_EQ(quote_literal("abc"), "'abc'");
    EXPECT_EQ(quote_literal("it's"), "'it''s'");
    EXPECT_EQ(quote_literal(""), "''");
    EXPECT_EQ(quote_literal("a\\b"), "E'a\\\\b'");
    EXPECT_EQ(quote_literal("o'\\"), "E'o''\\\\'");
}

TEST(PgQuote, EscapeIdentifierAlwaysQuotes) {
    EXPECT_EQ(escape_identifier("plain"), R"("plain")");
    EXPECT_EQ(escape_identifier("Mixed Case"), R"("Mixed Case")");
    EXPECT_EQ(escape_identifier(R"(we"ird)"), R"("we""ird")");
    EXPECT_EQ(escape_identifier("select"), R"("select")");
    EXPECT_EQ(escape_qualified("Billing", "Order Lines"), R"("Billing"."Order Lines")");
    EXPECT_EQ(escape_qualified("", "t"), R"("t")");
    EXPECT_THROW(escape_identifier(""), usage_error);
    EXPECT_THROW(escape_identifier(std::string("a\0b", 3)), usage_error);
}

TEST(PgFitIdentifier, ShortNamesAreKept) {
    EXPECT_EQ(fit_identifier("orders_p2025_01"), "orders_p2025_01");
    EXPECT_EQ(fit_identifier(std::string(63, 'a')), std::string(63, 'a'));
}

TEST(PgFitIdentifier, LongNamesAreCutWithAStableHash) {
    const std::string a = std::string(70, 'x').replace(66, 4, "p_01");
    const std::string b = std::string(70, 'x').replace(66, 4, "p_02");
    const std::string fa = fit_identifier(a);
    EXPECT_EQ(fa.size(), 63u);
    EXPECT_EQ(fa, fit_identifier(a));
    EXPECT_NE(fa, fit_identifier(b));
    // Multibyte characters are never cut in half.
    const std::string_view umlauts = "ääääääääääääääääääääääääääääääääääääääää";  // 40 × 2 bytes
    const std::string fu = fit_identifier(umlauts);
    EXPECT_LE(fu.size(), 63u);
    EXPECT_EQ(fu.substr(0, 54).size() % 2, 0u);
    EXPECT_EQ(fu.find("ä_"), fu.size() - 11);
}

TEST(PgFitIdentifier, PartitionIndexNamesKeepTheUnderscoreAtTheCut) {
    // Cut after 54 bytes, whose last one is '_': trimmed by default, kept when asked.
    const std::string name = std::string(53, 'a') + "_" + std::string(20, 'b');
    EXPECT_EQ(fit_identifier(name).substr(0, 54), std::string(53, 'a') + "_");
    EXPECT_EQ(fit_identifier(name).size(), 62u);
    EXPECT_EQ(fit_identifier(name, false).size(), 63u);
    EXPECT_EQ(fit_identifier(name, false).substr(0, 55), std::string(53, 'a') + "__");
}
