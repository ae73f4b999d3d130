// verify::verify_job as a library call (what run --verify uses), on hand-made tables and a
// hand-made job record, with the applier played by the wait_for_applier callback: a lagging
// target that catches up is equal, a difference the "applier" never fixes is a mismatch, and
// an applier that never passes the position leaves ranges still changing, never wrong.
#include <gtest/gtest.h>

#include "partshift/verify/verifier.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;

namespace {

class VerifyJobTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
        db_ = std::make_unique<test_database>();
        // The target lags: 300 rows of the source not applied yet, spread over two ranges.
        db_->exec(R"sql(
            CREATE TABLE src (id int PRIMARY KEY, v text NOT NULL, at date NOT NULL);
            INSERT INTO src SELECT g, 'v' || g, date '2025-01-01' + g % 60
            FROM generate_series(1, 4000) g;
            ANALYZE src;
            CREATE TABLE tgt (LIKE src) PARTITION BY RANGE (at);
            ALTER TABLE tgt ADD PRIMARY KEY (id, at);
            CREATE TABLE tgt_1 PARTITION OF tgt FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
            CREATE TABLE tgt_2 PARTITION OF tgt FOR VALUES FROM ('2025-02-01') TO ('2025-04-01');
            INSERT INTO tgt SELECT * FROM src;
            UPDATE tgt SET v = 'old' WHERE id % 20 = 0 OR id = 3999;
        )sql");
        job_.job = "src";
        job_.source_schema = job_.target_schema = "public";
        job_.source_table = job_.final_name = "src";
        job_.target_table = "tgt";
        job_.old_name = "src_old";
        job_.slot_name = "no_such_slot";
        job_.phase = "follow";
        options_.wait = verify::applier_wait::always;
        options_.chunk_rows = 1000;       // 4 ranges
        options_.max_keys_per_pass = 20;  // 50 lagging keys per range: each diff is cut short
    }

    // catch_up: what the applier would do, except for id 3999 when `keep_one` is set.
    void catch_up(bool keep_one) {
        db_->exec(std::string("UPDATE tgt SET v = src.v FROM src WHERE tgt.id = src.id "
                              "AND tgt.v <> src.v") +
                  (keep_one ? " AND tgt.id <> 3999" : ""));
    }

    std::unique_ptr<test_database> db_;
    state::job_record job_;
    verify::verify_options options_;
};

}  // namespace

TEST_F(VerifyJobTest, ALaggingTargetThatCatchesUpIsEqual) {
    int waits = 0;
    options_.wait_for_applier = [&](state::lsn_t, std::chrono::milliseconds) {
        if (waits++ == 0) catch_up(false);
        return true;
    };
    auto r = verify::verify_job(db_->dsn(), job_, options_);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.mismatches.empty());
    EXPECT_TRUE(r.still_changing.empty());
    EXPECT_EQ(r.chunks_total, 4);
    EXPECT_EQ(r.chunks_rechecked, 4);
    EXPECT_EQ(r.rows_left, 4000);
    EXPECT_EQ(r.left, "public.src");
    EXPECT_EQ(r.right, "public.tgt");
    // One wait served every range (the keys of all ranges are rechecked together).
    EXPECT_EQ(waits, 1);
}

TEST_F(VerifyJobTest, ADifferenceTheApplierNeverFixesIsAMismatch) {
    int waits = 0;
    options_.wait_for_applier = [&](state::lsn_t, std::chrono::milliseconds) {
        if (waits++ == 0) catch_up(true);
        return true;
    };
    auto r = verify::verify_job(db_->dsn(), job_, options_);
    EXPECT_FALSE(r.ok());
    ASSERT_EQ(r.mismatches.size(), 1u);
    ASSERT_EQ(r.mismatches[0].keys.size(), 1u);
    EXPECT_EQ(r.mismatches[0].keys[0], copy::key_value{"3999"});
    ASSERT_TRUE(r.mismatches[0].bounds.lower);
    EXPECT_LE(std::stoi(r.mismatches[0].bounds.lower->at(0)), 3999);
    EXPECT_TRUE(r.still_changing.empty());
}

TEST_F(VerifyJobTest, AnApplierThatNeverPassesLeavesRangesStillChanging) {
    int waits = 0;
    options_.wait_for_applier = [&](state::lsn_t, std::chrono::milliseconds) {
        ++waits;
        return false;
    };
    auto r = verify::verify_job(db_->dsn(), job_, options_);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.mismatches.empty());
    EXPECT_EQ(r.still_changing.size(), 4u);
    EXPECT_EQ(waits, 1);  // after one wait ran out, no more waits
}

TEST_F(VerifyJobTest, NoWaitingComparesAsIs) {
    options_.wait = verify::applier_wait::never;
    options_.wait_for_applier = [](state::lsn_t, std::chrono::milliseconds) -> bool {
        ADD_FAILURE() << "no wait expected";
        return true;
    };
    auto r = verify::verify_job(db_->dsn(), job_, options_);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.mismatches.size(), 4u);
    // A source key twice in the target is reported, beside its range's difference.
    catch_up(false);
    db_->exec("INSERT INTO tgt SELECT id, v, at + 40 FROM src WHERE id = 17");
    auto d = verify::verify_job(db_->dsn(), job_, options_);
    EXPECT_EQ(d.duplicate_keys_total, 1);
    ASSERT_EQ(d.duplicate_keys.size(), 1u);
    EXPECT_EQ(d.duplicate_keys[0].key, copy::key_value{"17"});
    EXPECT_EQ(d.duplicate_keys[0].copies, 2);
    EXPECT_EQ(d.mismatches.size(), 1u);
}
