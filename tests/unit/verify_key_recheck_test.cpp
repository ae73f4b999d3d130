// Unit tests for verify's per-key judgement: no false alarm while the source moves, a real
// difference only after enough rounds with the source unchanged.
#include <gtest/gtest.h>

#include "partshift/verify/key_recheck.hpp"

using namespace partshift::verify;

namespace {

const row_digest a{1, "111"}, b{1, "222"}, c{1, "333"}, absent{};

key_recheck tracking(const row_digest& baseline) {
    return key_recheck{{"42"}, baseline, 0, false};
}

}  // namespace

TEST(VerifyKeyRecheck, CaughtUpToTheBaselineOrToNowIsEqual) {
    auto k = tracking(a);
    EXPECT_EQ(k.judge(b, a, 2), key_verdict::equal);  // the applier reached the baseline
    auto k2 = tracking(a);
    EXPECT_EQ(k2.judge(b, b, 2), key_verdict::equal);  // and beyond, to the current state
    auto gone = tracking(a);
    EXPECT_EQ(gone.judge(absent, absent, 2), key_verdict::equal);  // deleted on both sides
}

TEST(VerifyKeyRecheck, AMovingSourceIsNeverAMismatch) {
    auto k = tracking(a);
    // The target always lags one state behind a source that changes every round.
    EXPECT_EQ(k.judge(b, c, 2), key_verdict::changing);
    EXPECT_EQ(k.baseline, b);
    EXPECT_EQ(k.judge(c, a, 2), key_verdict::changing);
    EXPECT_EQ(k.judge(a, b, 2), key_verdict::changing);
    EXPECT_TRUE(k.changed);
    EXPECT_EQ(k.confirmations, 0);
}

TEST(VerifyKeyRecheck, AStableDifferenceNeedsEveryConfirmation) {
    auto k = tracking(a);
    EXPECT_EQ(k.judge(a, b, 2), key_verdict::confirming);
    EXPECT_EQ(k.judge(a, b, 2), key_verdict::mismatch);
    EXPECT_FALSE(k.changed);

    // A source change between confirmations starts the count again.
    auto r = tracking(a);
    EXPECT_EQ(r.judge(a, c, 2), key_verdict::confirming);
    EXPECT_EQ(r.judge(b, c, 2), key_verdict::changing);
    EXPECT_EQ(r.judge(b, c, 2), key_verdict::confirming);
    EXPECT_EQ(r.judge(b, c, 2), key_verdict::mismatch);

    // A row missing on the target, or present twice there, is a difference like any other.
    auto missing = tracking(a);
    EXPECT_EQ(missing.judge(a, absent, 1), key_verdict::mismatch);
    auto twice = tracking(a);
    EXPECT_EQ(twice.judge(a, row_digest{2, "444"}, 1), key_verdict::mismatch);
}
