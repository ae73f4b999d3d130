// pg::with_context: the wrapped failure keeps what callers decide on (SQLSTATE, exit code).
#include <gtest/gtest.h>

#include "partshift/pg/pg_error.hpp"

using namespace partshift;

namespace {

template <typename E>
std::exception_ptr thrown(E e) {
    return std::make_exception_ptr(std::move(e));
}

}  // namespace

TEST(PgError, WithContextKeepsTheSqlstateOfAConnectionLoss) {
    auto wrapped = pg::with_context("copy of chunk 3 failed: ",
                                    thrown(pg::pg_error("server closed the connection", "08006")));
    try {
        std::rethrow_exception(wrapped);
    } catch (const pg::pg_error& e) {
        EXPECT_STREQ(e.what(), "copy of chunk 3 failed: server closed the connection");
        EXPECT_EQ(e.sqlstate(), "08006");
        EXPECT_TRUE(e.is_connection_loss());
        return;
    }
    FAIL() << "not a pg_error";
}

TEST(PgError, WithContextKeepsARealFailureARealFailure) {
    auto wrapped =
        pg::with_context("index: ", thrown(pg::pg_error("could not create unique index", "23505")));
    try {
        std::rethrow_exception(wrapped);
    } catch (const pg::pg_error& e) {
        EXPECT_FALSE(e.is_connection_loss());
        EXPECT_EQ(e.code(), exit_code::runtime_failure);
    }
}

TEST(PgError, WithContextKeepsTheExitCodeOfOtherErrors) {
    try {
        std::rethrow_exception(pg::with_context("x: ", thrown(preflight_error("no slot"))));
    } catch (const pg::pg_error&) {
        FAIL() << "became a pg_error";
    } catch (const partshift::error& e) {
        EXPECT_STREQ(e.what(), "x: no slot");
        EXPECT_EQ(e.code(), exit_code::preflight_failed);
    }
    try {
        std::rethrow_exception(pg::with_context("y: ", thrown(std::logic_error("bug"))));
    } catch (const partshift::error& e) {
        EXPECT_STREQ(e.what(), "y: bug");
        EXPECT_EQ(e.code(), exit_code::runtime_failure);
    }
}

TEST(PgError, ConnectionLossCodes) {
    for (const char* code : {"08006", "08001", "57P01", "57P03", ""})
        EXPECT_TRUE(pg::pg_error("m", code).is_connection_loss()) << code;
    for (const char* code : {"23505", "40001", "55P03", "57014"})
        EXPECT_FALSE(pg::pg_error("m", code).is_connection_loss()) << code;
}
