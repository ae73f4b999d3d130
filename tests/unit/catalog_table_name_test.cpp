// Unit tests for catalog::qualified, the table name as the plan prints it (no server).
#include <gtest/gtest.h>

#include "partshift/catalog/table_name.hpp"

using namespace partshift::catalog;

TEST(CatalogTableName, QualifiesSchemaAndName) {
    EXPECT_EQ(qualified({"public", "orders"}), "public.orders");
    EXPECT_EQ(qualified({"Billing", "order"}), "\"Billing\".\"order\"");
    EXPECT_EQ(qualified({"", "t"}), "t");
}
