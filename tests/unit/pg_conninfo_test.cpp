// Unit tests for pg/conninfo (no server): finding, removing and masking a password in a
// connection string as libpq reads it, key=value and URI forms.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "partshift/error.hpp"
#include "partshift/pg/conninfo.hpp"

using namespace partshift::pg;

namespace {

// masked: what mask_password_in_place leaves of `text` in a buffer of its own.
std::string masked(const std::string& text) {
    std::vector<char> buffer(text.begin(), text.end());
    buffer.push_back('\0');
    mask_password_in_place(buffer.data());
    return buffer.data();
}

}  // namespace

TEST(PgConninfo, FindsThePasswordInBothForms) {
    EXPECT_EQ(conninfo_password("host=db1 password=s3cret dbname=shop"), "s3cret");
    EXPECT_EQ(conninfo_password("host=db1 password='a b\\'c'"), "a b'c");
    EXPECT_EQ(conninfo_password("postgresql://app:s3cret@db1:5432/shop"), "s3cret");
    EXPECT_EQ(conninfo_password("postgresql://app:p%40ss@db1/shop"), "p@ss");
    EXPECT_EQ(conninfo_password("postgres:///shop?password=s3cret"), "s3cret");
    EXPECT_EQ(conninfo_password("host=db1 sslpassword=keyphrase"), "keyphrase");
    EXPECT_EQ(conninfo_password("host=db1 dbname=shop"), "");
    EXPECT_EQ(conninfo_password("/usr/bin:/bin"), "");  // not a connection string at all
    EXPECT_EQ(conninfo_password(""), "");
}

TEST(PgConninfo, WithoutPasswordKeepsEveryOtherSetting) {
    EXPECT_EQ(conninfo_without_password("host=db1 port=5433 password=s3cret dbname=shop"),
              "dbname='shop' host='db1' port='5433'");  // in libpq's order
    const auto uri =
        conninfo_without_password("postgresql://app:s3cret@db1/shop?sslmode=require&sslpassword=k");
    EXPECT_EQ(uri.find("s3cret"), std::string::npos) << uri;
    EXPECT_EQ(uri.find("sslpassword"), std::string::npos) << uri;
    EXPECT_NE(uri.find("user='app'"), std::string::npos) << uri;
    EXPECT_NE(uri.find("dbname='shop'"), std::string::npos) << uri;
    EXPECT_NE(uri.find("sslmode='require'"), std::string::npos) << uri;
    // Quotes and backslashes in a value survive the round trip through libpq.
    EXPECT_EQ(conninfo_without_password("dbname='it\\'s' password=x"), "dbname='it\\'s'");
    EXPECT_EQ(conninfo_password(conninfo_without_password("dbname='it\\'s' password=x")), "");
    EXPECT_EQ(conninfo_without_password(""), "");
    EXPECT_THROW(conninfo_without_password("host"), partshift::usage_error);
}

TEST(PgConninfo, MasksThePasswordInPlaceKeepingTheRest) {
    EXPECT_EQ(masked("host=db1 password=s3cret dbname=shop"),
              "host=db1 password=xxxxxx dbname=shop");
    EXPECT_EQ(masked("--dsn=host=db1 password=s3cret"), "--dsn=host=db1 password=xxxxxx");
    EXPECT_EQ(masked("postgresql://app:s3cret@db1/shop"), "postgresql://app:xxxxxx@db1/shop");
    EXPECT_EQ(masked("host=db1 password='a b'"), "host=db1 password='xxx'");
    // Written in a form the search cannot match literally: all of it goes.
    EXPECT_EQ(masked("postgresql://app:p%40ss@db1/shop"), std::string(32, 'x'));
    EXPECT_EQ(masked("host=db1 password=a\\ b"), std::string(22, 'x'));
    // Anything else is left as it is.
    for (const char* other : {"run", "--dsn", "--table", "billing.events", "host=db1 dbname=x",
                              "--max-lag=2s", "postgresql://app@db1/shop", ""})
        EXPECT_EQ(masked(other), other);
}
