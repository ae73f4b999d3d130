// Unit tests for verify::report_to_text's verdict: "equal" only beside equal row counts
// (issue 21 item 5).
#include <gtest/gtest.h>

#include "partshift/verify/verify_report.hpp"

using namespace partshift::verify;

namespace {

report clean_report(int64_t left, int64_t right) {
    report r;
    r.job = "events";
    r.phase = "follow";
    r.left = "public.events";
    r.right = "public.events_new";
    r.rows_left = left;
    r.rows_right = right;
    return r;
}

std::string result_line(const std::string& text) {
    const auto at = text.find("result       ");
    return at == std::string::npos ? "" : text.substr(at, text.find('\n', at) - at);
}

}  // namespace

TEST(VerifyReportText, EqualCountsAreEqual) {
    EXPECT_EQ(result_line(report_to_text(clean_report(5, 5))),
              "result       OK: the tables are equal (0 s)");
}

TEST(VerifyReportText, DifferentCountsAreNeverCalledEqual) {
    const auto line = result_line(report_to_text(clean_report(200000, 199990)));
    EXPECT_EQ(line.find("equal ("), std::string::npos) << line;
    EXPECT_EQ(line,
              "result       OK: no difference found; the row counts differ because rows changed "
              "while they were counted (each range that differed was equal when compared "
              "again) (0 s)");
}

TEST(VerifyReportText, AMismatchStaysAMismatch) {
    auto r = clean_report(5, 4);
    r.mismatches.push_back({});
    EXPECT_EQ(result_line(report_to_text(r)), "result       MISMATCH (0 s)");
}

TEST(VerifyReportText, MismatchedKeysAreShownAsTuples) {
    auto r = clean_report(5, 4);
    range_result mismatch;
    mismatch.bounds = {partshift::copy::key_value{"1"}, partshift::copy::key_value{"3"}};
    mismatch.rows_left = 2;
    mismatch.rows_right = 1;
    mismatch.keys = {{"1", "a"}, {"2", "b c"}};
    r.mismatches.push_back(mismatch);
    EXPECT_NE(report_to_text(r).find("\n  [(1), (3))  rows 2 / 1  keys (1, a), (2, b c)\n"),
              std::string::npos)
        << report_to_text(r);
}
