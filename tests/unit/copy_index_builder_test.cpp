// Unit tests for the index builder's naming and statement helpers.
#include <gtest/gtest.h>

#include "partshift/copy/index_builder.hpp"

using namespace partshift::copy;

TEST(CopyIndexBuilder, ChildIndexNames) {
    EXPECT_EQ(child_index_name("t_new_2024_01", "t_new_pkey", true), "t_new_2024_01_pkey");
    EXPECT_EQ(child_index_name("t_new_2024_01", "t_new_email_idx", false),
              "t_new_2024_01_t_new_email_idx");
    std::string long_relation(50, 'r');
    auto a = child_index_name(long_relation, "index_number_one", false);
    auto b = child_index_name(long_relation, "index_number_two", false);
    EXPECT_EQ(a.size(), 63u);
    EXPECT_EQ(b.size(), 63u);
    EXPECT_NE(a, b);
    // Multi-byte characters are not cut in half.
    std::string umlauts;
    for (int i = 0; i < 40; ++i) umlauts += "ü";
    auto u = child_index_name(umlauts, "idx", false);
    EXPECT_LE(u.size(), 63u);
    EXPECT_EQ(u.substr(0, 2), "ü");
    EXPECT_EQ(u[u.size() - 9], '_');
    EXPECT_NE(static_cast<unsigned char>(u[u.size() - 10]), 0xC3);  // no dangling lead byte
}

TEST(CopyIndexBuilder, UsingClauseOf) {
    EXPECT_EQ(
        using_clause_of("CREATE INDEX i ON ONLY public.t USING btree (lower(v)) WHERE (x > 1)"),
        "USING btree (lower(v)) WHERE (x > 1)");
    EXPECT_EQ(using_clause_of("CREATE INDEX \" USING \" ON ONLY t USING gin (doc)"),
              "USING gin (doc)");
    EXPECT_EQ(using_clause_of("CREATE INDEX i ON t (v)"), "");
}

TEST(CopyIndexBuilder, IndexFromModel) {
    partshift::catalog::index pk;
    pk.name = "t_pkey";
    pk.is_primary = pk.is_unique = true;
    pk.key_columns = {"id"};
    pk.using_clause = "USING btree (id)";
    auto built = index_from_model(pk, "t_new_pkey", {"id", "ts"});
    EXPECT_EQ(built.name, "t_new_pkey");
    EXPECT_TRUE(built.is_primary);
    EXPECT_EQ(built.key_columns, (std::vector<std::string>{"id", "ts"}));
    EXPECT_EQ(built.using_clause, "USING btree (id)");
}

TEST(CopyIndexBuilder, ServerHelpersOnlyFromIdleSessions) {
    // Two sessions both building: no helpers, so two builds are two processes, not six.
    EXPECT_EQ(server_build_helpers(2, 2, 2), 0);
    // The queue's tail: one build left running alone takes the idle session's share.
    EXPECT_EQ(server_build_helpers(2, 1, 2), 1);
    EXPECT_EQ(server_build_helpers(8, 1, 4), 4);  // the server's setting is the ceiling
    EXPECT_EQ(server_build_helpers(8, 1, 0), 0);  // a DBA who turned it off is obeyed
    EXPECT_EQ(server_build_helpers(1, 1, 2), 0);
}
