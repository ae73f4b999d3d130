// Unit tests for apply::sql_builder (no server): each statement shape, quoting of odd
// identifiers, parameter types, update masks and their cache, the builder from a table model.
#include <gtest/gtest.h>

#include "partshift/apply/sql_builder.hpp"
#include "partshift/error.hpp"

using namespace partshift;
using namespace partshift::apply;

namespace {

constexpr uint32_t int8_oid = 20, int4_oid = 23, text_oid = 25, timestamptz_oid = 1184;

sql_builder orders_builder() {
    // key (tenant, id); the target's own key would also contain created_at: not used here.
    return sql_builder(R"("public"."orders_new")",
                       {{"tenant", int4_oid},
                        {"id", int8_oid},
                        {"note", text_oid},
                        {"created_at", timestamptz_oid}},
                       {0, 1});
}

}  // namespace

TEST(ApplySqlBuilder, QuotesIdentifiers) {
    EXPECT_EQ(quote_identifier("plain"), R"("plain")");
    EXPECT_EQ(quote_identifier("Mixed Case"), R"("Mixed Case")");
    EXPECT_EQ(quote_identifier(R"(we"ird)"), R"("we""ird")");
    EXPECT_EQ(quote_identifier("select"), R"("select")");
    EXPECT_EQ(quote_qualified({"Billing", "Order Lines"}), R"("Billing"."Order Lines")");
    EXPECT_EQ(quote_qualified({"", "t"}), R"("t")");
    EXPECT_THROW(quote_identifier(""), usage_error);
    EXPECT_THROW(quote_identifier(std::string("a\0b", 3)), usage_error);
}

TEST(ApplySqlBuilder, InsertDeleteSelect) {
    auto b = orders_builder();
    EXPECT_EQ(b.insert().sql,
              R"(INSERT INTO "public"."orders_new" ("tenant", "id", "note", "created_at"))"
              R"( VALUES ($1, $2, $3, $4))");
    EXPECT_EQ(b.insert().param_types,
              (std::vector<uint32_t>{int4_oid, int8_oid, text_oid, timestamptz_oid}));
    EXPECT_EQ(b.delete_by_key().sql,
              R"(DELETE FROM "public"."orders_new" WHERE "tenant" = $1 AND "id" = $2)");
    EXPECT_EQ(b.delete_by_key().param_types, (std::vector<uint32_t>{int4_oid, int8_oid}));
    EXPECT_EQ(b.select_by_key().sql,
              R"(SELECT "tenant", "id", "note", "created_at" FROM "public"."orders_new")"
              R"( WHERE "tenant" = $1 AND "id" = $2)");
    EXPECT_EQ(b.truncate(false), R"(TRUNCATE "public"."orders_new")");
    EXPECT_EQ(b.truncate(true), R"(TRUNCATE "public"."orders_new" RESTART IDENTITY)");
}

TEST(ApplySqlBuilder, UpdateSetsOnlyMaskedColumnsAndCachesByMask) {
    auto b = orders_builder();
    const auto& all = b.update_by_key({true, true, true, true});
    EXPECT_EQ(all.sql, R"(UPDATE "public"."orders_new" SET "tenant" = $1, "id" = $2, )"
                       R"("note" = $3, "created_at" = $4 WHERE "tenant" = $5 AND "id" = $6)");
    EXPECT_EQ(all.param_types, (std::vector<uint32_t>{int4_oid, int8_oid, text_oid, timestamptz_oid,
                                                      int4_oid, int8_oid}));
    // "note" was an unchanged TOAST value ('u'): it is not written.
    const auto& no_note = b.update_by_key({true, true, false, true});
    EXPECT_EQ(no_note.sql, R"(UPDATE "public"."orders_new" SET "tenant" = $1, "id" = $2, )"
                           R"("created_at" = $3 WHERE "tenant" = $4 AND "id" = $5)");
    EXPECT_EQ(no_note.param_types,
              (std::vector<uint32_t>{int4_oid, int8_oid, timestamptz_oid, int4_oid, int8_oid}));
    EXPECT_EQ(b.cached_updates(), 2u);
    const auto& again = b.update_by_key({true, true, false, true});
    EXPECT_EQ(&again, &no_note);
    EXPECT_EQ(b.cached_updates(), 2u);
    EXPECT_THROW(b.update_by_key({false, false, false, false}), std::invalid_argument);
    EXPECT_THROW(b.update_by_key({true}), std::invalid_argument);
}

TEST(ApplySqlBuilder, UpdateInPartitionAddsThePartitionKeyToTheWhere) {
    auto b = orders_builder();
    const auto& located = b.update_in_partition({false, false, true, true}, {3});
    EXPECT_EQ(located.sql, R"(UPDATE "public"."orders_new" SET "note" = $1, "created_at" = $2 )"
                           R"(WHERE "tenant" = $3 AND "id" = $4 AND "created_at" = $5)");
    EXPECT_EQ(located.param_types, (std::vector<uint32_t>{text_oid, timestamptz_oid, int4_oid,
                                                          int8_oid, timestamptz_oid}));
    EXPECT_EQ(&b.update_in_partition({false, false, true, true}, {3}), &located);
    // Two levels: both keys, in the order given.
    EXPECT_EQ(b.update_in_partition({false, false, true, false}, {3, 0}).sql,
              R"(UPDATE "public"."orders_new" SET "note" = $1 )"
              R"(WHERE "tenant" = $2 AND "id" = $3 AND "created_at" = $4 AND "tenant" = $5)");
    EXPECT_THROW(b.update_in_partition({false, false, true, false}, {9}), std::invalid_argument);
}

TEST(ApplySqlBuilder, OddIdentifiersEverywhere) {
    sql_builder b(quote_qualified({"My Schema", "Order \"Lines\""}),
                  {{"Key Col", int8_oid}, {"user", text_oid}, {"a\"b", text_oid}}, {0});
    EXPECT_EQ(b.insert().sql, R"(INSERT INTO "My Schema"."Order ""Lines""" ("Key Col", )"
                              R"("user", "a""b") VALUES ($1, $2, $3))");
    EXPECT_EQ(b.update_by_key({false, true, true}).sql,
              R"(UPDATE "My Schema"."Order ""Lines""" SET "user" = $1, "a""b" = $2 )"
              R"(WHERE "Key Col" = $3)");
    EXPECT_EQ(b.delete_by_key().sql,
              R"(DELETE FROM "My Schema"."Order ""Lines""" WHERE "Key Col" = $1)");
}

TEST(ApplySqlBuilder, IdentityAlwaysNeedsOverridingAndIsNeverUpdated) {
    sql_builder b(R"("t")", {{"id", int8_oid, true}, {"v", text_oid}}, {0});
    EXPECT_EQ(b.insert().sql,
              R"(INSERT INTO "t" ("id", "v") OVERRIDING SYSTEM VALUE VALUES ($1, $2))");
    EXPECT_EQ(b.updatable_mask({true, true}), (column_mask{false, true}));
    EXPECT_EQ(b.update_by_key({false, true}).sql, R"(UPDATE "t" SET "v" = $1 WHERE "id" = $2)");
    EXPECT_THROW(b.update_by_key({true, true}), std::invalid_argument);
}

TEST(ApplySqlBuilder, FromTableModelSkipsGeneratedColumnsAndUsesSourceKey) {
    catalog::table_model m;
    m.name = {"app", "events"};
    m.columns = {{.name = "id", .attnum = 1, .type_oid = int8_oid, .identity = 'd'},
                 {.name = "total",
                  .attnum = 2,
                  .type_oid = int4_oid,
                  .generated_expr = std::string("(a + b)")},
                 {.name = "created_at", .attnum = 3, .type_oid = timestamptz_oid},
                 {.name = "body", .attnum = 4, .type_oid = text_oid}};
    catalog::index pk;
    pk.name = "events_pkey";
    pk.is_primary = true;
    pk.key_columns = {"id"};
    m.indexes = {pk};
    auto b = sql_builder::for_table(m, {"app", "events_new"});
    EXPECT_EQ(b.columns().size(), 3u);
    EXPECT_EQ(b.key(), (std::vector<size_t>{0}));
    EXPECT_EQ(b.insert().sql, R"(INSERT INTO "app"."events_new" ("id", "created_at", "body"))"
                              R"( VALUES ($1, $2, $3))");
    EXPECT_EQ(b.delete_by_key().sql, R"(DELETE FROM "app"."events_new" WHERE "id" = $1)");

    m.indexes.clear();
    EXPECT_THROW(sql_builder::for_table(m, {"app", "events_new"}), usage_error);
    catalog::index ri;
    ri.name = "events_ri";
    ri.is_replica_identity = true;
    ri.key_columns = {"created_at", "id"};
    m.indexes = {ri};
    auto by_ri = sql_builder::for_table(m, {"app", "events_new"});
    EXPECT_EQ(by_ri.key(), (std::vector<size_t>{1, 0}));
}
