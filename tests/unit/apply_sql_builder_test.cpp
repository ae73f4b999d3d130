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
    // The quoting itself is pg::escape_identifier's (pg_quote_test).
    EXPECT_EQ(quote_qualified({"Billing", "Order Lines"}), R"("Billing"."Order Lines")");
    EXPECT_EQ(quote_qualified({"", "t"}), R"("t")");
    EXPECT_THROW(quote_qualified({"", ""}), usage_error);
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
    // Several relations (one TRUNCATE message of a multi-table job): one statement.
    EXPECT_EQ(apply::truncate_sql({R"("public"."orders_new")", R"("s"."items_new")"}, true),
              R"(TRUNCATE "public"."orders_new", "s"."items_new" RESTART IDENTITY)");
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

namespace {

sql_builder typed_orders_builder() {
    return sql_builder(R"("public"."orders_new")",
                       {{"tenant", int4_oid, false, "integer", 'N'},
                        {"id", int8_oid, false, "bigint", 'N'},
                        {"note", text_oid, false, "text", 'S'},
                        {"created_at", timestamptz_oid, false, "timestamp with time zone", 'D'}},
                       {0, 1});
}

}  // namespace

// Set-based statements: one array parameter per column, unnested with row numbers; each
// returns only the rows that did not apply exactly once.
TEST(ApplySqlBuilder, SetStatementsUnnestArraysAndReturnDivergedRows) {
    auto b = typed_orders_builder();
    ASSERT_TRUE(b.supports_sets());
    EXPECT_EQ(b.insert_set().sql,
              R"(WITH v AS MATERIALIZED (SELECT * FROM unnest($1::integer[], $2::bigint[], )"
              R"($3::text[], $4::timestamp with time zone[]) WITH ORDINALITY AS )"
              R"(v("c1", "c2", "c3", "c4", "n")), w AS (INSERT INTO "public"."orders_new" )"
              R"(("tenant", "id", "note", "created_at") SELECT "c1", "c2", "c3", "c4" FROM v )"
              R"(ON CONFLICT DO NOTHING RETURNING "tenant", "id") SELECT v."n", 1::bigint )"
              R"(FROM v WHERE (SELECT count(*) FROM w) <> (SELECT count(*) FROM v) AND NOT )"
              R"(EXISTS (SELECT FROM w WHERE w."tenant" = v."c1" AND w."id" = v."c2"))");
    EXPECT_EQ(b.insert_set().param_types, (std::vector<uint32_t>{0, 0, 0, 0}));
    EXPECT_EQ(&b.insert_set(), &b.insert_set());

    // The join runs only when the counts show a divergence (a one-time filter).
    const std::string divergences =
        R"( SELECT v."n", count(w."n") FROM v LEFT JOIN w ON w."n" = v."n" WHERE )"
        R"((SELECT count(*) <> (SELECT count(*) FROM v) OR count(DISTINCT w."n") <> )"
        R"((SELECT count(*) FROM v) FROM w) GROUP BY v."n" HAVING count(w."n") <> 1)";
    EXPECT_EQ(b.delete_set().sql,
              R"(WITH v AS MATERIALIZED (SELECT * FROM unnest($1::integer[], $2::bigint[]) )"
              R"(WITH ORDINALITY AS v("c1", "c2", "n")), w AS (DELETE FROM )"
              R"("public"."orders_new" AS t USING v WHERE t."tenant" = v."c1" AND )"
              R"(t."id" = v."c2" RETURNING v."n"))" +
                  divergences);
    EXPECT_EQ(b.delete_set().param_types, (std::vector<uint32_t>{0, 0}));

    // Masked columns first, then the key: the same parameters as update_by_key.
    const auto& note = b.update_set({false, false, true, false});
    EXPECT_EQ(note.sql,
              R"(WITH v AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::integer[], )"
              R"($3::bigint[]) WITH ORDINALITY AS v("c1", "c2", "c3", "n")), w AS (UPDATE )"
              R"("public"."orders_new" AS t SET "note" = v."c1" FROM v WHERE )"
              R"(t."tenant" = v."c2" AND t."id" = v."c3" RETURNING v."n"))" +
                  divergences);
    EXPECT_EQ(note.param_types.size(), 3u);
    EXPECT_EQ(&b.update_set({false, false, true, false}), &note);
    EXPECT_NE(&b.update_set({false, false, true, true}), &note);
    // Located in the partition of the new values: those values follow the key.
    EXPECT_EQ(b.update_set({false, false, true, false}, {3}).sql,
              R"(WITH v AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::integer[], )"
              R"($3::bigint[], $4::timestamp with time zone[]) WITH ORDINALITY AS )"
              R"(v("c1", "c2", "c3", "c4", "n")), w AS (UPDATE "public"."orders_new" AS t )"
              R"(SET "note" = v."c1" FROM v WHERE t."tenant" = v."c2" AND t."id" = v."c3" )"
              R"(AND t."created_at" = v."c4" RETURNING v."n"))" +
                  divergences);
    // Key changes go row by row; an empty mask or a wrong size is a caller error.
    EXPECT_THROW(b.update_set({false, true, true, false}), std::invalid_argument);
    EXPECT_THROW(b.update_set({false, false, false, false}), std::invalid_argument);
    EXPECT_THROW(b.update_set({true}), std::invalid_argument);
}

TEST(ApplySqlBuilder, SetStatementsQuoteOddIdentifiers) {
    sql_builder b(quote_qualified({"My Schema", "Order \"Lines\""}),
                  {{"Key Col", int8_oid, false, "bigint", 'N'},
                   {"n", text_oid, false, "text", 'S'},
                   {"a\"b", text_oid, false, "character varying(20)", 'S'}},
                  {0});
    EXPECT_EQ(b.update_set({false, true, true}).sql,
              R"(WITH v AS MATERIALIZED (SELECT * FROM unnest($1::text[], )"
              R"($2::character varying(20)[], $3::bigint[]) WITH ORDINALITY AS )"
              R"(v("c1", "c2", "c3", "n")), w AS (UPDATE "My Schema"."Order ""Lines""" AS t )"
              R"(SET "n" = v."c1", "a""b" = v."c2" FROM v WHERE t."Key Col" = v."c3" )"
              R"(RETURNING v."n") SELECT v."n", count(w."n") FROM v LEFT JOIN w ON )"
              R"(w."n" = v."n" WHERE (SELECT count(*) <> (SELECT count(*) FROM v) OR )"
              R"(count(DISTINCT w."n") <> (SELECT count(*) FROM v) FROM w) GROUP BY v."n" )"
              R"(HAVING count(w."n") <> 1)");
}

TEST(ApplySqlBuilder, SetStatementsNeedKnownScalarTypes) {
    EXPECT_FALSE(orders_builder().supports_sets());  // no type names
    EXPECT_THROW(orders_builder().insert_set(), std::logic_error);
    auto with = [](std::string type, char category) {
        return sql_builder(
            R"("t")",
            {{"id", int8_oid, false, "bigint", 'N'}, {"v", 0, false, std::move(type), category}},
            {0});
    };
    EXPECT_TRUE(with("jsonb", 'U').supports_sets());
    EXPECT_FALSE(with("integer[]", 'A').supports_sets());  // unnest would flatten it
    EXPECT_FALSE(with("int_list", 'A').supports_sets());   // a domain over an array
    EXPECT_FALSE(with("box", 'G').supports_sets());        // array delimiter ';'
    // GENERATED ALWAYS identity: OVERRIDING SYSTEM VALUE, as for the single-row INSERT.
    sql_builder identity(
        R"("t")", {{"id", int8_oid, true, "bigint", 'N'}, {"v", text_oid, false, "text", 'S'}},
        {0});
    EXPECT_NE(identity.insert_set().sql.find(R"(("id", "v") OVERRIDING SYSTEM VALUE SELECT)"),
              std::string::npos)
        << identity.insert_set().sql;
}
