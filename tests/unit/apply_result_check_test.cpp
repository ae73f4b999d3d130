// Unit tests for apply/result_check (no server): what a statement's row count means, which
// row of a set statement diverged, and how divergences and failures are worded.
#include <gtest/gtest.h>

#include <memory>

#include "partshift/apply/result_check.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"

using namespace partshift;
using namespace partshift::apply;

namespace {

constexpr uint32_t int8_oid = 20, text_oid = 25;

catalog::table_model events_model() {
    catalog::table_model m;
    m.oid = 4242;
    m.name = {"app", "events"};
    m.columns = {{.name = "id", .attnum = 1, .type_oid = int8_oid},
                 {.name = "body", .attnum = 2, .type_oid = text_oid}};
    catalog::index pk;
    pk.name = "events_pkey";
    pk.is_primary = true;
    pk.key_columns = {"id"};
    m.indexes = {pk};
    return m;
}

pg::param_list key(const char* id) {
    return pg::param_list{pg::param(id)};
}

// thrown: the message of what `f` throws as E ("" when it throws nothing).
template <typename E, typename F>
std::string thrown(F f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "";
}

struct fixture {
    catalog::table_model model = events_model();
    relation_state rel{model, {"app", "events_new"}, {}, "j", true};

    pending set_of(const char* operation, std::initializer_list<const char*> ids) {
        auto rows = std::make_shared<group_rows>();
        stream::lsn_t lsn = 0x100;
        for (const char* id : ids) {
            rows->keys.push_back(key(id));
            rows->commit_lsns.push_back(lsn += 0x10);
        }
        pending p(&rel, check::set, operation, {}, rows->commit_lsns.back());
        p.group = std::move(rows);
        return p;
    }
};

}  // namespace

TEST(ApplyResultCheck, RowCountsOfStatementsThatAreNotChecked) {
    fixture f;
    EXPECT_EQ(check_rows(pending(nullptr, check::none, "BEGIN", {}, 0), 0, "j"), row_verdict::fine);
    EXPECT_EQ(check_rows(pending(&f.rel, check::insert, "INSERT", key("1"), 0), 1, "j"),
              row_verdict::fine);
    EXPECT_EQ(check_rows(pending(&f.rel, check::probe, "UPDATE", {}, 0), 0, "j"),
              row_verdict::probe);
}

TEST(ApplyResultCheck, ALocatedUpdateFoundMovedOrDiverged) {
    fixture f;
    pending p(&f.rel, check::located, "UPDATE", key("5"), 0x1A2B);
    EXPECT_EQ(check_rows(p, 1, "j"), row_verdict::in_partition);
    EXPECT_EQ(check_rows(p, 0, "j"), row_verdict::moved);
    auto what = thrown<runtime_error>([&] { check_rows(p, 2, "j"); });
    EXPECT_NE(what.find("divergence in strict mode: UPDATE of key (id)=(5) of \"app\".\"events\""),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("committed at 0/1A2B: 2 rows on the target"), std::string::npos) << what;
}

TEST(ApplyResultCheck, AStrictChangeMustFindExactlyOneRow) {
    fixture f;
    pending p(&f.rel, check::one_row, "DELETE", key("7"), 0x10);
    EXPECT_EQ(check_rows(p, 1, "j"), row_verdict::fine);
    auto what = thrown<runtime_error>([&] { check_rows(p, 0, "j"); });
    EXPECT_NE(what.find("DELETE of key (id)=(7)"), std::string::npos) << what;
    EXPECT_NE(what.find("no such row on the target"), std::string::npos) << what;
}

TEST(ApplyResultCheck, ACheckpointThatFoundNoRowNamesTheJob) {
    pending p(nullptr, check::one_row, "checkpoint", {}, 0x10);
    auto what = thrown<runtime_error>([&] { check_rows(p, 0, "orders"); });
    EXPECT_NE(what.find("job 'orders' vanished from partshift.jobs"), std::string::npos) << what;
    EXPECT_EQ(what.find("divergence"), std::string::npos) << what;
}

TEST(ApplyResultCheck, ASetStatementNamesItsFirstDivergedRow) {
    fixture f;
    auto update = f.set_of("UPDATE", {"1", "2", "3"});
    auto what = thrown<runtime_error>([&] { throw_set_divergence(update, {2, 0}); });
    EXPECT_NE(what.find("UPDATE of key (id)=(2)"), std::string::npos) << what;
    EXPECT_NE(what.find("committed at 0/120: no such row on the target"), std::string::npos)
        << what;
    auto insert = f.set_of("INSERT", {"1", "2"});
    what = thrown<runtime_error>([&] { throw_set_divergence(insert, {1, 1}); });
    EXPECT_NE(what.find("INSERT of key (id)=(1)"), std::string::npos) << what;
    EXPECT_NE(what.find("the key already exists on the target"), std::string::npos) << what;
}

TEST(ApplyResultCheck, ARowOutsideItsGroupIsAnInternalError) {
    fixture f;
    auto set = f.set_of("DELETE", {"1", "2"});
    EXPECT_EQ(group_member(set, 2).key, key("2"));
    EXPECT_EQ(group_member(set, 2).expect, check::one_row);
    EXPECT_NE(thrown<runtime_error>([&] { group_member(set, 3); }).find("internal error"),
              std::string::npos);
    EXPECT_NE(thrown<runtime_error>([&] { group_member(set, -1); }).find("internal error"),
              std::string::npos);
}

TEST(ApplyResultCheck, AUniqueViolationOfACheckedChangeIsADivergence) {
    fixture f;
    pending p(&f.rel, check::insert, "INSERT", key("9"), 0x10);
    auto what = thrown<runtime_error>([&] { throw_statement_error(p, "23505", "duplicate key"); });
    EXPECT_NE(what.find("divergence in strict mode: INSERT of key (id)=(9)"), std::string::npos)
        << what;
    // Unchecked (idempotent) statements report it as the server's error.
    pending unchecked(&f.rel, check::none, "INSERT", {}, 0x10);
    EXPECT_THROW(throw_statement_error(unchecked, "23505", "duplicate key"), pg::pg_error);
}

TEST(ApplyResultCheck, AFailureNamesItsTransactionKeyAndTheFixForAMissingPartition) {
    fixture f;
    pending p(&f.rel, check::one_row, "UPDATE", key("3"), 0x10);
    try {
        throw_statement_error(p, "23514", "no partition of relation \"events_new\" found for row");
        FAIL() << "no exception";
    } catch (const pg::pg_error& e) {
        std::string what = e.what();
        EXPECT_EQ(e.sqlstate(), "23514");
        EXPECT_NE(what.find("UPDATE failed in the source transaction committed at 0/10"),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("(key (id)=(3)"), std::string::npos) << what;
        EXPECT_NE(what.find("PARTITION OF \"app\".\"events_new\""), std::string::npos) << what;
    }
    auto set = f.set_of("INSERT", {"1", "2"});
    auto what = thrown<pg::pg_error>([&] { throw_statement_error(set, "22P02", "bad input"); });
    EXPECT_NE(what.find("one of 2 rows applied together, keys (id)=(1) … (id)=(2)"),
              std::string::npos)
        << what;
}
