// Unit tests for spec validation, make_plan and the SQL/JSON renderers on a hand-built table
// model (no server).
#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>

#include "partshift/error.hpp"
#include "partshift/plan/plan_renderer.hpp"
#include "partshift/plan/planner.hpp"
#include "partshift/plan/spec_validation.hpp"
#include "plan.pb.h"

using namespace partshift::plan;
using partshift::usage_error;
namespace catalog = partshift::catalog;

namespace {

catalog::column col(std::string name, uint32_t oid, std::string type, bool not_null = false) {
    catalog::column c;
    c.name = std::move(name);
    c.type_oid = oid;
    c.type_name = std::move(type);
    c.not_null = not_null;
    return c;
}

catalog::index idx(std::string name, std::string using_clause, std::vector<std::string> keys,
                   bool unique = false) {
    catalog::index i;
    i.name = std::move(name);
    i.using_clause = std::move(using_clause);
    i.key_columns = std::move(keys);
    i.is_unique = unique;
    i.method = "btree";
    return i;
}

// orders: the table most tests plan.
catalog::table_model orders() {
    catalog::table_model t;
    t.name = {"shop", "orders"};
    auto id = col("id", 20, "bigint", true);
    id.identity = 'd';
    t.columns.push_back(id);
    auto ts = col("created_at", 1184, "timestamp with time zone", true);
    ts.default_expr = "now()";
    t.columns.push_back(ts);
    auto amount = col("amount", 1700, "numeric(12,2)", true);
    amount.comment = "in cents; it's signed";
    t.columns.push_back(amount);
    auto email = col("Email", 25, "text");
    email.collation = "\"C\"";
    email.storage = 'e';
    email.statistics = 500;
    t.columns.push_back(email);
    auto total = col("total", 1700, "numeric");
    total.generated_expr = "(amount * 2)";
    t.columns.push_back(total);
    t.columns.push_back(col("idempotency_key", 2950, "uuid"));
    t.columns.push_back(col("region", 25, "text", true));

    catalog::check_constraint chk;
    chk.name = "amount_positive";
    chk.definition = "CHECK ((amount > (0)::numeric))";
    t.checks.push_back(chk);

    auto pk = idx("orders_pkey", "USING btree (id)", {"id"}, true);
    pk.is_primary = true;
    pk.is_constraint = true;
    pk.constraint_name = "orders_pkey";
    t.indexes.push_back(pk);
    auto uk =
        idx("orders_idem", "USING btree (idempotency_key) WHERE (idempotency_key IS NOT NULL)",
            {"idempotency_key"}, true);
    uk.is_partial = true;
    t.indexes.push_back(uk);
    auto expr = idx("orders_lower_email", "USING btree (lower(\"Email\")) INCLUDE (amount)", {});
    expr.has_expressions = true;
    expr.comment = "login lookups";
    t.indexes.push_back(expr);
    t.indexes.push_back(idx("orders_created_brin", "USING brin (created_at)", {"created_at"}));

    catalog::foreign_key in;
    in.name = "order_lines_order_fk";
    in.table = {"shop", "order_lines"};
    in.referenced = t.name;
    in.columns = {"order_id"};
    in.referenced_columns = {"id"};
    t.inbound_fks.push_back(in);
    catalog::foreign_key out;
    out.name = "orders_customer_fk";
    out.table = t.name;
    out.referenced = {"shop", "customers"};
    out.definition = "FOREIGN KEY (customer_id) REFERENCES shop.customers(id)";
    t.outbound_fks.push_back(out);
    t.storage_options = {"fillfactor=90", "autovacuum_vacuum_scale_factor=0.01"};
    t.comment = "all orders";
    return t;
}

partition_spec monthly(int premake = 0) {
    partition_spec s;
    s.level1.method = partition_method::range;
    s.level1.key = "created_at";
    s.level1.interval = "1 month";
    s.premake = premake;
    return s;
}

data_facts facts() {
    data_facts f;
    f.level1_min = "2025-01-14 10:00:00+01";
    f.level1_max = "2025-03-02 08:00:00+01";
    f.now = "2025-03-02 09:00:00+01";
    f.timezone = "Europe/Berlin";
    return f;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
    for (const auto& l : lines)
        if (contains(l, needle)) return true;
    return false;
}

void expect_usage_error(const catalog::table_model& t, const partition_spec& s,
                        const std::string& needle) {
    try {
        validate_spec(t, s);
        FAIL() << "no error for " << needle;
    } catch (const usage_error& e) {
        EXPECT_TRUE(contains(e.what(), needle)) << e.what();
    }
}

}  // namespace

TEST(PlanSpecValidation, RefusesWhatCannotBePartitioned) {
    auto t = orders();
    auto s = monthly();
    EXPECT_NO_THROW(validate_spec(t, s));
    s.level1.key = "nope";
    expect_usage_error(t, s, "column \"nope\" does not exist in table shop.orders");
    s.level1.key = "total";
    s.level1.interval.reset();
    s.level1.step = "10";
    expect_usage_error(t, s, "generated column");
    s.level1.key = "region";
    expect_usage_error(t, s, "--step needs an integer column");
    s = monthly();
    s.level1.key = "id";
    expect_usage_error(t, s, "--interval needs a date or timestamp column");
    s = monthly();
    t.relkind = 'f';
    expect_usage_error(t, s, "foreign table");
    t.relkind = 'r';
    t.persistence = 'u';
    expect_usage_error(t, s, "unlogged");
    t.persistence = 't';
    expect_usage_error(t, s, "temporary");
    t = orders();
    t.columns.push_back(col("doc", 114, "json"));
    s.level1 = {};
    s.level1.method = partition_method::hash;
    s.level1.key = "doc";
    s.level1.modulus = 4;
    expect_usage_error(t, s, "type json");
    s.level1.key = "region";  // hash on text is fine
    EXPECT_NO_THROW(validate_spec(t, s));
}

TEST(PlanPlanner, CreatesTheParentWithEveryColumnFeature) {
    const auto plan = make_plan(orders(), monthly(), facts());
    EXPECT_EQ(plan.target.schema, "shop");
    EXPECT_EQ(plan.target.name, "orders_new");
    EXPECT_EQ(plan.final_name, "orders");
    const std::string& sql = plan.create_table_sql;
    EXPECT_TRUE(contains(sql, "CREATE TABLE shop.orders_new (\n")) << sql;
    EXPECT_TRUE(contains(sql, "    id bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,")) << sql;
    EXPECT_TRUE(contains(sql, "    created_at timestamp with time zone DEFAULT now() NOT NULL,"));
    EXPECT_TRUE(contains(sql, "    \"Email\" text COLLATE \"C\","));
    EXPECT_TRUE(contains(sql, "    total numeric GENERATED ALWAYS AS ((amount * 2)) STORED,"));
    EXPECT_TRUE(contains(sql, "    CONSTRAINT amount_positive CHECK ((amount > (0)::numeric))"));
    EXPECT_TRUE(contains(sql, ") PARTITION BY RANGE (created_at)"));
    EXPECT_TRUE(
        any_contains(plan.constraint_sql,
                     "ALTER TABLE shop.orders_new ALTER COLUMN \"Email\" SET STORAGE EXTERNAL"));
    EXPECT_TRUE(any_contains(plan.constraint_sql, "ALTER COLUMN \"Email\" SET STATISTICS 500"));
    EXPECT_TRUE(
        any_contains(plan.constraint_sql,
                     "ALTER TABLE shop.orders_new ADD CONSTRAINT orders_customer_fk FOREIGN KEY"));
    EXPECT_TRUE(
        any_contains(plan.constraint_sql,
                     "COMMENT ON COLUMN shop.orders_new.amount IS 'in cents; it''s signed'"));
    EXPECT_TRUE(
        any_contains(plan.constraint_sql, "COMMENT ON TABLE shop.orders_new IS 'all orders'"));
}

TEST(PlanPlanner, PlansPartitionsWithLeafStorageOptions) {
    const auto plan = make_plan(orders(), monthly(1), facts());
    ASSERT_EQ(plan.partitions.size(), 4u);  // Jan, Feb, Mar + 1 premade
    EXPECT_EQ(plan.partitions[0].name, "orders_p2025_01");
    EXPECT_EQ(plan.partitions[3].name, "orders_p2025_04");
    EXPECT_EQ(plan.partitions[0].create_sql,
              "CREATE TABLE shop.orders_p2025_01 PARTITION OF shop.orders_new FOR VALUES FROM "
              "('2025-01-01 00:00:00 Europe/Berlin') TO ('2025-02-01 00:00:00 Europe/Berlin') "
              "WITH (fillfactor=90, autovacuum_vacuum_scale_factor=0.01)");
    EXPECT_FALSE(plan.partitions[0].parent);
}

TEST(PlanPlanner, ExtendsUniqueIndexesWithThePartitionKey) {
    const auto plan = make_plan(orders(), monthly(), facts());
    ASSERT_EQ(plan.indexes.size(), 4u);
    const auto& pk = plan.indexes[0];
    EXPECT_TRUE(pk.is_primary);
    EXPECT_TRUE(pk.extended_with_partition_key);
    EXPECT_EQ(pk.name, "orders_pkey_new");
    EXPECT_EQ(
        pk.create_sql,
        "ALTER TABLE shop.orders_new ADD CONSTRAINT orders_pkey_new PRIMARY KEY (id, created_at)");
    const auto& uk = plan.indexes[1];
    EXPECT_EQ(
        uk.create_sql,
        "CREATE UNIQUE INDEX orders_idem_new ON shop.orders_new USING btree (idempotency_key, "
        "created_at) WHERE (idempotency_key IS NOT NULL)");
    EXPECT_TRUE(
        any_contains(plan.warnings,
                     "uniqueness of (idempotency_key) is no longer enforced across "
                     "partitions: the target's unique index is (idempotency_key, created_at)"));
    EXPECT_TRUE(any_contains(plan.warnings, "uniqueness of (id) is no longer enforced"));
    const auto& expr = plan.indexes[2];
    EXPECT_FALSE(expr.is_unique);
    EXPECT_EQ(
        expr.create_sql,
        "CREATE INDEX orders_lower_email_new ON shop.orders_new USING btree (lower(\"Email\")) "
        "INCLUDE (amount)");
    EXPECT_EQ(expr.comment_sql, "COMMENT ON INDEX shop.orders_lower_email_new IS 'login lookups'");
    EXPECT_EQ(plan.indexes[3].create_sql,
              "CREATE INDEX orders_created_brin_new ON shop.orders_new USING brin (created_at)");
    // The inbound FK references (id), which is no longer unique by itself.
    EXPECT_TRUE(any_contains(plan.warnings, "order_lines_order_fk"));
    EXPECT_TRUE(any_contains(plan.notes, "identity column id"));
}

TEST(PlanPlanner, KeepsKeysThatAlreadyContainThePartitionKey) {
    auto t = orders();
    t.indexes[0].using_clause = "USING btree (id, created_at)";
    t.indexes[0].key_columns = {"id", "created_at"};
    auto ux = idx("orders_expr_ux", "USING btree (lower(region), created_at DESC)", {}, true);
    ux.has_expressions = true;
    t.indexes.push_back(ux);
    catalog::index excl = idx("orders_no_overlap", "USING gist (region, created_at)", {});
    excl.is_constraint = true;
    excl.constraint_name = "orders_no_overlap";
    t.indexes.push_back(excl);
    t.inbound_fks[0].referenced_columns = {"created_at", "id"};
    const auto plan = make_plan(t, monthly(), facts());
    EXPECT_FALSE(plan.indexes[0].extended_with_partition_key);
    EXPECT_FALSE(any_contains(plan.warnings, "uniqueness of (id, created_at)"));
    EXPECT_EQ(plan.indexes.back().create_sql,
              "CREATE UNIQUE INDEX orders_expr_ux_new ON shop.orders_new USING btree "
              "(lower(region), created_at DESC)");
    EXPECT_TRUE(any_contains(plan.warnings, "exclusion constraint orders_no_overlap is skipped"));
    EXPECT_TRUE(any_contains(plan.warnings, "keeps referencing the old table until cutover"));
}

TEST(PlanPlanner, TwoLevelsNameChildrenAfterTheirParent) {
    partition_spec s;
    s.level1.method = partition_method::list;
    s.level1.key = "region";
    s.level1.values = {"EU", "us-east", "US East"};
    s.level2 = level_spec{};
    s.level2->method = partition_method::hash;
    s.level2->key = "id";
    s.level2->modulus = 4;
    plan_names names;
    names.target_name = "orders_tmp";
    names.final_name = "ProfileStore";
    const auto plan = make_plan(orders(), s, facts(), names);
    EXPECT_EQ(plan.target.name, "orders_tmp");
    // 3 values + default, each with 4 hash partitions.
    ASSERT_EQ(plan.partitions.size(), 4u * 5u);
    EXPECT_EQ(plan.partitions[0].name, "ProfileStore_eu");
    EXPECT_TRUE(plan.partitions[0].is_partitioned);
    EXPECT_EQ(plan.partitions[0].create_sql,
              "CREATE TABLE shop.\"ProfileStore_eu\" PARTITION OF shop.orders_tmp FOR VALUES IN "
              "('EU') PARTITION BY HASH (id)");
    EXPECT_EQ(plan.partitions[1].name, "ProfileStore_eu_h0");
    EXPECT_EQ(plan.partitions[1].parent, "ProfileStore_eu");
    EXPECT_EQ(plan.partitions[1].create_sql,
              "CREATE TABLE shop.\"ProfileStore_eu_h0\" PARTITION OF shop.\"ProfileStore_eu\" FOR "
              "VALUES WITH (MODULUS 4, REMAINDER 0) WITH (fillfactor=90, "
              "autovacuum_vacuum_scale_factor=0.01)");
    EXPECT_EQ(plan.partitions[5].name, "ProfileStore_us_east");
    EXPECT_EQ(plan.partitions[10].name, "ProfileStore_us_east_2");  // collision
    EXPECT_EQ(plan.partitions[15].name, "ProfileStore_default");
    EXPECT_EQ(plan.partitions[15].bound_sql, "DEFAULT");
    // Unique keys gain both levels' keys.
    EXPECT_EQ(
        plan.indexes[0].create_sql,
        "ALTER TABLE shop.orders_tmp ADD CONSTRAINT orders_pkey_new PRIMARY KEY (id, region)");
}

// Re-partitioning: the old tree's partitions keep their names through the cutover, so the new
// ones are named apart from them; other schemas' names do not matter.
TEST(PlanPlanner, RepartitioningNamesNewPartitionsApartFromTheOldTree) {
    auto t = orders();
    t.relkind = 'p';
    auto member = [](std::string schema, std::string name, std::string bound) {
        catalog::partition_member m;
        m.name = {std::move(schema), std::move(name)};
        m.bound = std::move(bound);
        return m;
    };
    t.partitions = {member("shop", "orders_p2025_01", "FOR VALUES FROM (...) TO (...)"),
                    member("shop", "orders_default", "DEFAULT"),
                    member("archive", "orders_p2025_02", "FOR VALUES FROM (...) TO (...)")};
    EXPECT_NO_THROW(validate_spec(t, monthly()));
    auto s = monthly();
    s.default_partition = true;
    const auto plan = make_plan(t, s, facts());
    std::vector<std::string> names;
    for (const auto& p : plan.partitions) names.push_back(p.name);
    EXPECT_EQ(names, (std::vector<std::string>{"orders_p2025_01_2", "orders_p2025_02",
                                               "orders_p2025_03", "orders_default_2"}));
    EXPECT_TRUE(any_contains(plan.notes,
                             "shop.orders is partitioned (3 partitions below it): it "
                             "is re-partitioned"));
    // A plain table gets no such note.
    EXPECT_FALSE(any_contains(make_plan(orders(), s, facts()).notes, "re-partitioned"));
}

TEST(PlanPlanner, RefusesTooManyPartitionsAcrossLevels) {
    auto s = monthly();
    s.level2 = level_spec{};
    s.level2->method = partition_method::hash;
    s.level2->key = "id";
    s.level2->modulus = 5000;
    EXPECT_THROW(make_plan(orders(), s, facts()), usage_error);
}

TEST(PlanPlanner, LongNamesStayUniqueAndLegal) {
    auto t = orders();
    const std::string long_name(60, 'o');
    t.name.name = long_name;
    const auto plan = make_plan(t, monthly(), facts());
    EXPECT_LE(plan.target.name.size(), 63u);
    EXPECT_NE(plan.target.name, long_name);
    for (const auto& p : plan.partitions) EXPECT_LE(p.name.size(), 63u);
    EXPECT_NE(plan.partitions[0].name, plan.partitions[1].name);
}

TEST(PlanRenderer, RendersAnExecutableScript) {
    auto plan = make_plan(orders(), monthly(), facts());
    plan.warnings.push_back("evil\nDROP TABLE x;");
    const std::vector<preflight_check> checks = {{"wal_level", true, true, "logical"},
                                                 {"replication_slots", false, true, "0 free"},
                                                 {"inbound_foreign_keys", false, false, "2"}};
    const std::string sql = render_sql(plan, checks);
    EXPECT_TRUE(contains(sql, "-- preflight ok: wal_level: logical\n"));
    EXPECT_TRUE(contains(sql, "-- PREFLIGHT FAILED: replication_slots: 0 free\n"));
    // A failed check that is not fatal is a warning, not a failure.
    EXPECT_TRUE(contains(sql, "-- preflight warning: inbound_foreign_keys: 2\n"));
    EXPECT_TRUE(contains(sql, "-- WARNING: uniqueness of (id) is no longer enforced"));
    EXPECT_TRUE(contains(sql, "-- WARNING: evil DROP TABLE x;\n"));
    EXPECT_TRUE(contains(sql, "\nBEGIN;\n"));
    EXPECT_TRUE(contains(sql, "\nCOMMIT;\n"));
    EXPECT_LT(sql.find("CREATE TABLE shop.orders_new"), sql.find("PARTITION OF"));
    EXPECT_LT(sql.find("PARTITION OF"), sql.find("PRIMARY KEY"));
    EXPECT_TRUE(contains(sql, "PRIMARY KEY (id, created_at);\n"));
    const auto without_indexes = sql_statements(plan, false);
    EXPECT_EQ(without_indexes.size(), 1 + plan.partitions.size() + plan.constraint_sql.size());
}

TEST(PlanRenderer, RendersParseableJson) {
    const auto plan = make_plan(orders(), monthly(), facts());
    const std::string json = render_json(plan, {{"wal_level", false, true, "replica"}});
    partshift::proto::target_plan m;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &m).ok()) << json;
    EXPECT_EQ(m.source().name(), "orders");
    EXPECT_EQ(m.target().name(), "orders_new");
    EXPECT_EQ(m.spec().level1().method(), "range");
    EXPECT_EQ(m.spec().level1().interval(), "1 month");
    EXPECT_FALSE(m.spec().has_level2());
    ASSERT_EQ(m.partitions_size(), 3);
    EXPECT_EQ(m.partitions(0).parent(), "orders_new");
    EXPECT_EQ(m.indexes(0).name(), "orders_pkey_new");
    EXPECT_TRUE(m.indexes(0).extended_with_partition_key());
    EXPECT_EQ(m.warnings_size(), static_cast<int>(plan.warnings.size()));
    EXPECT_EQ(m.statements(0), plan.create_table_sql);
    ASSERT_EQ(m.preflight_size(), 1);
    EXPECT_FALSE(m.preflight(0).ok());
    EXPECT_TRUE(contains(json, "\"final_name\": \"orders\""));
}

// ---- issue 20 item 9: until when the new table takes rows ----

namespace {

data_facts december(std::optional<std::string> max = "2026-12-05 10:00:00+00") {
    data_facts f;
    f.level1_min = "2026-01-03 10:00:00+00";
    f.level1_max = std::move(max);
    f.now = "2026-12-06 09:00:00+00";
    f.timezone = "UTC";
    return f;
}

}  // namespace

// A monthly plan made on 2026-12-06 without premake ends at 2027-01-01: 25 days. The plan says
// so and warns loudly; not with pg_partman to make more, not with a DEFAULT partition. Failed
// before: no coverage at all, no warning.
TEST(PlanPlanner, WarnsWhenTheNewTableRunsOutOfPartitionsWithinAMonth) {
    auto p = make_plan(orders(), monthly(0), december());
    ASSERT_TRUE(p.coverage.has_value());
    EXPECT_EQ(p.coverage->key, "created_at");
    EXPECT_EQ(p.coverage->until, "'2027-01-01 00:00:00 UTC'");
    EXPECT_EQ(p.coverage->days_left, 25);
    EXPECT_FALSE(p.coverage->has_default);
    auto plain = p;
    const auto lines = add_coverage_lines(plain, /*partman=*/false);
    EXPECT_TRUE(contains(lines.note,
                         "takes rows with created_at < '2027-01-01 00:00:00 UTC' (25 "
                         "days from now)"))
        << lines.note;
    ASSERT_EQ(lines.warnings.size(), 1u);
    EXPECT_TRUE(contains(lines.warnings[0], "RUNS OUT OF PARTITIONS SOON")) << lines.warnings[0];
    EXPECT_TRUE(any_contains(plain.warnings, "RUNS OUT OF PARTITIONS SOON"));
    EXPECT_TRUE(contains(render_sql(plain, {}), "-- WARNING: THE NEW TABLE RUNS OUT"));

    auto with_partman = p;
    EXPECT_TRUE(add_coverage_lines(with_partman, /*partman=*/true).warnings.empty());
    auto spec = monthly(0);
    spec.default_partition = true;
    auto with_default = make_plan(orders(), spec, december());
    const auto d = add_coverage_lines(with_default, false);
    EXPECT_TRUE(d.warnings.empty());
    EXPECT_TRUE(contains(d.note, "later rows go to the DEFAULT partition")) << d.note;
}

// With the default premake (4) the same plan reaches 2027-05-01: no warning.
TEST(PlanPlanner, DefaultPremakeCoversMonthsAhead) {
    auto p = make_plan(orders(), monthly(default_premake), december());
    ASSERT_TRUE(p.coverage.has_value());
    EXPECT_EQ(p.coverage->until, "'2027-05-01 00:00:00 UTC'");
    EXPECT_EQ(p.partitions.back().name, "orders_p2027_04");
    EXPECT_TRUE(add_coverage_lines(p, false).warnings.empty());
    // A step plan says how far it reaches, without days.
    partition_spec by_id;
    by_id.level1.method = partition_method::range;
    by_id.level1.key = "id";
    by_id.level1.step = "1000";
    by_id.premake = 2;
    data_facts ids;
    ids.level1_min = "1";
    ids.level1_max = "2500";
    auto q = make_plan(orders(), by_id, ids);
    ASSERT_TRUE(q.coverage.has_value());
    EXPECT_EQ(q.coverage->until, "5000");
    EXPECT_FALSE(q.coverage->days_left.has_value());
    EXPECT_TRUE(add_coverage_lines(q, false).warnings.empty());
    // No RANGE level, nothing to say.
    partition_spec by_hash;
    by_hash.level1.method = partition_method::hash;
    by_hash.level1.key = "id";
    by_hash.level1.modulus = 4;
    auto h = make_plan(orders(), by_hash, ids);
    EXPECT_FALSE(h.coverage.has_value());
    EXPECT_TRUE(add_coverage_lines(h, false).note.empty());
}

// One row dated 2099 makes a monthly plan of about 870 partitions after now: the warning names
// the value and how to find the row, before anything is made. A year of future rows (12
// partitions past premake) is not flagged. Failed before: no warning.
TEST(PlanPlanner, AStrayFarFutureRowIsNamed) {
    auto p = make_plan(orders(), monthly(4), december("2099-01-01 00:00:00+00"));
    ASSERT_TRUE(p.coverage.has_value());
    ASSERT_TRUE(p.coverage->stray_warning.has_value());
    const auto& w = *p.coverage->stray_warning;
    EXPECT_TRUE(contains(w, "the newest created_at value, 2099-01-01 00:00:00+00")) << w;
    EXPECT_TRUE(contains(w,
                         "SELECT * FROM shop.orders WHERE created_at >= '2027-05-01 "
                         "00:00:00 UTC'"))
        << w;
    EXPECT_GT(p.partitions.size(), 800u);
    const auto lines = add_coverage_lines(p, false);
    EXPECT_TRUE(any_contains(lines.warnings, "stray row"));
    EXPECT_TRUE(any_contains(p.warnings, "stray row"));

    auto near = make_plan(orders(), monthly(4), december("2028-04-15 00:00:00+00"));
    ASSERT_TRUE(near.coverage.has_value());
    EXPECT_FALSE(near.coverage->stray_warning.has_value());
}
