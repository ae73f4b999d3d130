// verify_report: the outcome of comparing a job's plain table with its partitioned table, and
// its two renderings (human text, one JSON object through proto/verify.proto).
// Plain data and rendering only: must not query anything (the verifier fills it in).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "partshift/copy/chunk.hpp"

namespace partshift::verify {

// range_result: one key range (a chunk of the apply key) and what each side holds in it.
struct range_result {
    copy::chunk_bounds bounds;
    int64_t rows_left = 0;
    int64_t rows_right = 0;
    // keys: some keys that differ (bounded, for the report), text values per key column.
    std::vector<copy::key_value> keys;
};

// duplicate_key: a source key present more than once in the partitioned table (its primary key
// includes the partition key, so the apply key alone is not unique there).
struct duplicate_key {
    copy::key_value key;
    int64_t copies = 0;
};

struct report {
    std::string job;
    std::string phase;
    std::string left;   // quoted "schema"."name" of the plain table (source, or the kept original)
    std::string right;  // quoted name of the partitioned table
    bool swapped = false;     // after cutover: left is the original kept under its old name
    bool run_active = false;  // a run of the job held its slot when verify started
    int64_t chunks_total = 0;
    int64_t chunks_rechecked = 0;  // ranges that differed at first sight and were rechecked
    int64_t rows_left = 0;
    int64_t rows_right = 0;
    // mismatches: ranges that still differ after the applier passed the source position of
    // the check, with the source unchanged: real differences.
    std::vector<range_result> mismatches;
    // still_changing: ranges whose source kept changing (or whose applier position could not be
    // confirmed) through every recheck; not proven wrong, not proven equal.
    std::vector<range_result> still_changing;
    std::vector<duplicate_key> duplicate_keys;  // the first few found
    int64_t duplicate_keys_total = 0;
    double seconds = 0;

    // ok: no real mismatch and no duplicate key. Still-changing ranges do not make it false:
    // they are not evidence of a difference (the caller decides whether to verify again).
    bool ok() const { return mismatches.empty() && duplicate_keys_total == 0; }
};

std::string report_to_json(const report& r);
// group_report_to_json: a multi-table job's reports, {"job": ..., "tables": [report, ...]}.
std::string group_report_to_json(const std::string& job, const std::vector<report>& reports);
std::string report_to_text(const report& r);

}  // namespace partshift::verify
