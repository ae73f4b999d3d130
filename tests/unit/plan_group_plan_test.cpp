// Unit tests for the foreign keys between the tables of a multi-table job (plan/group_plan)
// and for the job file (cli/job_file). No server.
#include <gtest/gtest.h>

#include "partshift/cli/job_file.hpp"
#include "partshift/error.hpp"
#include "partshift/plan/group_plan.hpp"

using namespace partshift::plan;
namespace catalog = partshift::catalog;

namespace {

catalog::index primary(std::vector<std::string> keys) {
    catalog::index i;
    i.name = "pk";
    i.key_columns = std::move(keys);
    i.is_unique = true;
    i.is_primary = true;
    return i;
}

partition_spec monthly() {
    partition_spec s;
    s.level1.method = partition_method::range;
    s.level1.key = "created_at";
    s.level1.interval = "1 month";
    return s;
}

catalog::foreign_key items_to_orders(std::vector<std::string> referenced_columns,
                                     std::string definition) {
    catalog::foreign_key fk;
    fk.name = "items_order_fk";
    fk.table = {"shop", "order_items"};
    fk.referenced = {"shop", "orders"};
    fk.columns = {"order_id", "created_at"};
    fk.referenced_columns = std::move(referenced_columns);
    fk.definition = std::move(definition);
    return fk;
}

partshift::plan::group_member member(std::string name, std::string target) {
    partshift::plan::group_member m;
    m.table.name = {"shop", std::move(name)};
    m.table.indexes.push_back(primary({"id"}));
    m.plan.source = m.table.name;
    m.plan.target = {"shop", std::move(target)};
    m.plan.spec = monthly();
    m.checks.push_back({"inbound_foreign_keys", true, false, "as preflight said"});
    return m;
}

// orders ← order_items, the key (order_id, created_at) → orders (id, created_at).
std::vector<partshift::plan::group_member> shop(catalog::foreign_key fk) {
    auto orders = member("orders", "orders_new");
    auto items = member("order_items", "order_items_new");
    items.table.outbound_fks.push_back(fk);
    items.plan.constraint_sql.push_back("ALTER TABLE shop.order_items_new ADD CONSTRAINT " +
                                        std::string("items_order_fk ") + fk.definition);
    items.plan.constraint_sql.push_back("COMMENT ON TABLE shop.order_items_new IS 'x'");
    orders.table.inbound_fks.push_back(fk);
    orders.checks[0] = {"inbound_foreign_keys", false, true, "cannot be re-pointed"};
    return {orders, items};
}

const preflight_check* find(const std::vector<preflight_check>& checks, const std::string& name) {
    for (const auto& c : checks)
        if (c.name == name) return &c;
    return nullptr;
}

}  // namespace

TEST(GroupPlan, KeyBetweenTablesOfTheJobIsCreatedBetweenTheirTargets) {
    auto members = shop(items_to_orders({"id", "created_at"},
                                        "FOREIGN KEY (order_id, created_at) REFERENCES "
                                        "shop.orders(id, created_at) ON DELETE CASCADE"));
    auto group = plan_group(members, false);
    ASSERT_EQ(group.fks.size(), 1u);
    EXPECT_EQ(group.fks[0].referencing, 1u);
    EXPECT_EQ(group.fks[0].referenced, 0u);
    EXPECT_EQ(
        group.fks[0].sql,
        "ALTER TABLE shop.order_items_new ADD CONSTRAINT items_order_fk FOREIGN KEY "
        "(order_id, created_at) REFERENCES shop.orders_new(id, created_at) ON DELETE CASCADE");
    EXPECT_EQ(group.primary_key_first, (std::vector<bool>{true, false}));
    // The plan's own statement (a key to the old orders) is gone; the rest stays.
    ASSERT_EQ(members[1].plan.constraint_sql.size(), 1u);
    EXPECT_EQ(members[1].plan.constraint_sql[0], "COMMENT ON TABLE shop.order_items_new IS 'x'");
    // orders' inbound check no longer counts the key of a table of the job.
    const auto* inbound = find(members[0].checks, "inbound_foreign_keys");
    ASSERT_NE(inbound, nullptr);
    EXPECT_TRUE(inbound->ok) << inbound->message;
    const auto* group_check = find(members[1].checks, "group_foreign_keys");
    ASSERT_NE(group_check, nullptr);
    EXPECT_TRUE(group_check->ok);
}

TEST(GroupPlan, KeyWithoutThePartitionKeyFailsOrIsLeftOffWhenAsked) {
    auto fk = items_to_orders({"id"}, "FOREIGN KEY (order_id) REFERENCES shop.orders(id)");
    auto members = shop(fk);
    auto group = plan_group(members, false);
    EXPECT_TRUE(group.fks.empty());
    const auto* failed = find(members[1].checks, "group_foreign_keys");
    ASSERT_NE(failed, nullptr);
    EXPECT_FALSE(failed->ok);
    EXPECT_TRUE(failed->fatal);
    EXPECT_NE(failed->message.find("(id, created_at)"), std::string::npos) << failed->message;
    EXPECT_EQ(group.primary_key_first, (std::vector<bool>{false, false}));

    members = shop(fk);
    group = plan_group(members, true);
    EXPECT_TRUE(group.fks.empty());
    EXPECT_TRUE(find(members[1].checks, "group_foreign_keys")->ok);
    ASSERT_EQ(members[1].plan.warnings.size(), 1u);
    EXPECT_NE(members[1].plan.warnings[0].find("left off"), std::string::npos);
}

TEST(GroupPlan, NotValidKeyIsNotCarriedOver) {
    auto members = shop(items_to_orders(
        {"id", "created_at"},
        "FOREIGN KEY (order_id, created_at) REFERENCES shop.orders(id, created_at) NOT VALID"));
    auto group = plan_group(members, false);
    EXPECT_TRUE(group.fks.empty());
    EXPECT_FALSE(find(members[1].checks, "group_foreign_keys")->ok);
}

TEST(GroupPlan, SameTableTwiceFails) {
    auto a = member("orders", "orders_new");
    auto b = member("orders", "orders_new2");
    std::vector<partshift::plan::group_member> members{a, b};
    plan_group(members, false);
    const auto* c = find(members[0].checks, "group_tables");
    ASSERT_NE(c, nullptr);
    EXPECT_FALSE(c->ok);
}

TEST(GroupPlan, ReferencedNameIsReplacedEvenWhenQuotedWithParentheses) {
    EXPECT_EQ(referencing_target_definition(
                  "FOREIGN KEY (\"a (b\", c) REFERENCES \"we(ird\".\"Or ders\"(\"i)d\", c) "
                  "MATCH FULL ON UPDATE CASCADE DEFERRABLE",
                  "\"we(ird\".\"Or ders_new\""),
              "FOREIGN KEY (\"a (b\", c) REFERENCES \"we(ird\".\"Or ders_new\"(\"i)d\", c) "
              "MATCH FULL ON UPDATE CASCADE DEFERRABLE");
    EXPECT_THROW(referencing_target_definition("CHECK (a > 0)", "x"), partshift::runtime_error);
}

TEST(JobFile, TablesWithTheirOptions) {
    auto file = partshift::cli::parse_job_file(R"({
        "job": "shop",
        "tables": [
          {"table": "shop.orders", "partition_by": "range", "key": "created_at",
           "interval": "1 month", "premake": 2, "default_partition": true},
          {"table": "\"Order Items\"", "partition_by": "list", "key": "region",
           "values": ["eu,west", "us"], "target_name": "items_by_region"}
        ]})",
                                               "shop.json");
    ASSERT_EQ(file.tables.size(), 2u);
    EXPECT_EQ(*file.job, "shop");
    EXPECT_EQ(file.tables[0].table, "shop.orders");
    EXPECT_EQ(*file.tables[0].spec.level1.interval, "1 month");
    EXPECT_EQ(file.tables[0].spec.premake, 2);
    EXPECT_EQ(file.tables[0].spec.default_partition, true);
    EXPECT_EQ(file.tables[1].table, "\"Order Items\"");
    EXPECT_EQ(file.tables[1].spec.level1.values, (std::vector<std::string>{"eu,west", "us"}));
    EXPECT_EQ(*file.tables[1].target_name, "items_by_region");
}

TEST(JobFile, BadFilesAreOneLineUsageErrors) {
    using partshift::cli::parse_job_file;
    auto message = [](const std::string& text) {
        try {
            parse_job_file(text, "f.json");
        } catch (const partshift::usage_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message("{").find("job file f.json"), std::string::npos);
    EXPECT_NE(message(R"({"tables": [{"table": "a", "partition_by": "range", "key": "k",
        "interval": "1 day", "intervall": "x"}, {"table": "b"}]})")
                  .find("intervall"),
              std::string::npos);
    EXPECT_NE(message(R"({"tables": [{"table": "a", "partition_by": "hash", "key": "k",
        "modulus": 4}]})")
                  .find("two or more"),
              std::string::npos);
    EXPECT_NE(message(R"({"tables": [{"table": "a", "partition_by": "hash", "key": "k",
        "modulus": 4}, {"table": "a", "partition_by": "hash", "key": "k", "modulus": 4}]})")
                  .find("listed twice"),
              std::string::npos);
    EXPECT_NE(message(R"({"tables": [{"table": "a", "partition_by": "hash", "key": "k",
        "modulus": 4}, {"table": "b", "partition_by": "range", "key": "k"}]})")
                  .find("table 2 (b): range partitioning needs"),
              std::string::npos);
    for (const auto& m : {message("{"), message(R"({"tables": 3})")})
        EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}
