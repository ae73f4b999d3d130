// Unit tests for apply::row_values (no server): keys of old and new tuples, sent-column masks,
// filling 'u' columns from a full old row, and refusing to write 'u' or binary values.
#include <gtest/gtest.h>

#include "partshift/apply/row_values.hpp"
#include "partshift/error.hpp"

using namespace partshift;
using namespace partshift::apply;
using stream::tuple_value;

namespace {
tuple_value t(std::string v) {
    return {tuple_value::kind::text, std::move(v)};
}
tuple_value n() {
    return {tuple_value::kind::null, {}};
}
tuple_value u() {
    return {tuple_value::kind::unchanged_toast, {}};
}
}  // namespace

TEST(ApplyRowValues, KeysMasksAndParams) {
    stream::tuple row{t("7"), t("x"), u(), n()};
    EXPECT_EQ(key_of(row, {1, 0}), (pg::param_list{"x", "7"}));
    EXPECT_EQ(sent_columns(row), (column_mask{true, true, false, true}));
    EXPECT_FALSE(is_complete(row));
    EXPECT_EQ(params_of(row, {true, false, false, true}), (pg::param_list{"7", std::nullopt}));
    EXPECT_THROW(params_of(row), partshift::runtime_error);  // 'u' is never written
    // A key column sent as 'u' comes from the old ('K') tuple; a NULL or missing key throws.
    stream::tuple old_key{n(), n(), t("big"), n()};
    EXPECT_EQ(key_of(row, {2}, &old_key), (pg::param_list{"big"}));
    EXPECT_THROW(key_of(row, {2}), partshift::runtime_error);
    EXPECT_THROW(key_of(row, {3}), partshift::runtime_error);
    EXPECT_THROW(value_param({tuple_value::kind::binary, "\x01"}), partshift::runtime_error);
}

TEST(ApplyRowValues, FillUnchangedFromFullOldRow) {
    stream::tuple row{t("1"), u(), t("new")};
    fill_unchanged(row, {t("1"), t("toasted"), t("old")});
    EXPECT_EQ(row, (stream::tuple{t("1"), t("toasted"), t("new")}));
    EXPECT_TRUE(is_complete(row));
}

TEST(ApplyRowValues, DescribesKeys) {
    std::vector<column_def> cols{{"tenant", 23}, {"id", 20}};
    EXPECT_EQ(describe_key(cols, {0, 1}, {"3", "42"}), "(tenant, id)=(3, 42)");
    EXPECT_EQ(describe_key(cols, {1}, {std::nullopt}), "(id)=(NULL)");
}
