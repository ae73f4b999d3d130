// key_recheck: the decision verify makes for one key whose rows differ between the plain table
// (left) and the partitioned table (right), round after round. Pure: the verifier reads the
// digests and waits for the applier; this only judges them, so the no-false-alarm rule is
// unit-tested without a server.
//
// A round reads both sides in one snapshot, taken after the applier has passed the source
// position of the previous round's snapshot. The key is then
//   - equal when the right side equals the left side as it was (the applier caught up to it)
//     or as it is now;
//   - changing when the left side moved since the previous round (it becomes the new baseline:
//     the next round waits for the applier to pass it);
//   - a mismatch when the left side did not move and the right side still differs, `needed`
//     rounds in a row (more than one, so a change reverted between two rounds, A → B → A,
//     cannot pass for a stable difference).
#pragma once

#include <cstdint>
#include <string>

#include "partshift/copy/chunk.hpp"

namespace partshift::verify {

// row_digest: what one side holds for one key (or one range): rows and the sum of their
// hashes, as the server printed it. An absent key is {0, "0"}.
struct row_digest {
    int64_t rows = 0;
    std::string hash = "0";
    bool operator==(const row_digest&) const = default;
};

enum class key_verdict { equal, changing, confirming, mismatch };

struct key_recheck {
    copy::key_value key;
    row_digest baseline;    // the left side when last read
    int confirmations = 0;  // rounds in a row with an unchanged left side and a different right
    bool changed = false;   // the left side moved at least once while rechecked

    // judge takes one round's digests (read in one snapshot) and updates the state.
    key_verdict judge(const row_digest& left_now, const row_digest& right_now, int needed);
};

}  // namespace partshift::verify
