// Unit tests for parameter conversion (no server).
#include <gtest/gtest.h>

#include "partshift/pg/params.hpp"

using partshift::pg::make_params;

TEST(PgParams, ConvertsValuesToTextAndNull) {
    auto params = make_params("abc", std::string("x"), 42, int64_t{-7}, true, std::nullopt);
    ASSERT_EQ(params.size(), 6u);
    EXPECT_EQ(*params[0], "abc");
    EXPECT_EQ(*params[2], "42");
    EXPECT_EQ(*params[3], "-7");
    EXPECT_EQ(*params[4], "true");
    EXPECT_FALSE(params[5].has_value());
}
