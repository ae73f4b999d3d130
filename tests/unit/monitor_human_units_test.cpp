// Unit tests for how durations, counts and rates are printed to people (issue 21: no
// "8.22927 s", one unit style on every screen).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "partshift/monitor/byte_size.hpp"
#include "partshift/monitor/human_units.hpp"
#include "partshift/monitor/progress_bar.hpp"

using namespace partshift::monitor;

TEST(HumanUnits, DurationsAreRoundedToWhatAPersonReads) {
    EXPECT_EQ(human_duration(0), "0 s");
    EXPECT_EQ(human_duration(0.036456), "36 ms");
    EXPECT_EQ(human_duration(0.9994), "999 ms");
    EXPECT_EQ(human_duration(8.22927), "8.2 s");
    EXPECT_EQ(human_duration(9.96), "10 s");
    EXPECT_EQ(human_duration(42.4), "42 s");
    EXPECT_EQ(human_duration(72), "1 min 12 s");
    EXPECT_EQ(human_duration(2 * 3600 + 5 * 60 + 10), "2 h 05 min");
    EXPECT_EQ(human_duration(3 * 86400 + 4 * 3600), "3 d 04 h");
}

TEST(HumanUnits, DurationOfNonsenseIsZero) {
    EXPECT_EQ(human_duration(-3), "0 s");
    EXPECT_EQ(human_duration(std::numeric_limits<double>::quiet_NaN()), "0 s");
}

TEST(HumanUnits, CountsHaveThousandsSeparators) {
    EXPECT_EQ(human_count(0), "0");
    EXPECT_EQ(human_count(999), "999");
    EXPECT_EQ(human_count(1000), "1,000");
    EXPECT_EQ(human_count(200000), "200,000");
    EXPECT_EQ(human_count(1234567), "1,234,567");
    EXPECT_EQ(human_count(-50719), "-50,719");
    EXPECT_EQ(human_count(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(HumanUnits, RatesAreWholeFromTenUp) {
    EXPECT_EQ(human_rate(85000.4, "rows"), "85,000 rows/s");
    EXPECT_EQ(human_rate(2.25, "changes"), "2.2 changes/s");
    EXPECT_EQ(human_rate(0, "rows"), "0 rows/s");
    EXPECT_EQ(human_rate(-1, "rows"), "0 rows/s");
}

TEST(HumanUnits, SizesUseOneUnitStyleEverywhere) {
    // The log and status both go through human_size: 6.0 kB is never "0.0 MB" elsewhere.
    EXPECT_EQ(human_size(6144), "6.0 kB");
    EXPECT_EQ(human_size(5.7 * 1024 * 1024), "5.7 MB");
    EXPECT_EQ(human_size(512), "512 B");
    EXPECT_EQ(human_byte_rate(3 * 1024 * 1024), "3.0 MB/s");
}

TEST(HumanUnits, EtaIsEmptyWhenUnknown) {
    EXPECT_EQ(human_eta(std::nullopt), "");
    EXPECT_EQ(human_eta(72.0), "~1 min 12 s left");
}

TEST(CopyProgressLine, CountsRunningChunksAsAnEstimate) {
    copy_figures f;
    f.rows_committed = 100'000;
    f.rows_in_flight = 12'000;
    f.chunks_running = 2;
    f.estimate = 200'000;
    f.rate = 5'600;
    f.seconds_left = 16;
    f.chunks_done = 2;
    f.chunks_total = 4;
    EXPECT_EQ(format_copy_progress(f),
              "rows ~112,000/~200,000 (56.0%; ~12,000 in 2 running chunks), 5,600 rows/s, ~16 s "
              "left, chunks 2/4");
}

TEST(CopyProgressLine, CommittedOnlyAndUnknownEstimate) {
    copy_figures f;
    f.rows_committed = 100'000;
    f.estimate = 200'000;
    f.rate = 50'000;
    f.seconds_left = 2;
    f.chunks_done = 5;
    f.chunks_total = 10;
    EXPECT_EQ(format_copy_progress(f),
              "rows 100,000/~200,000 (50.0%), 50,000 rows/s, ~2.0 s left, chunks 5/10");
    copy_figures g;
    g.rows_committed = 10;
    g.chunks_total = 1;
    EXPECT_EQ(format_copy_progress(g), "rows 10, 0 rows/s, chunks 0/1");
}
