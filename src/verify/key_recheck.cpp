// key_recheck: the per-key judgement. Pure; no I/O.
#include "partshift/verify/key_recheck.hpp"

namespace partshift::verify {

key_verdict key_recheck::judge(const row_digest& left_now, const row_digest& right_now,
                               int needed) {
    if (right_now == baseline || right_now == left_now) return key_verdict::equal;
    if (left_now != baseline) {
        baseline = left_now;
        confirmations = 0;
        changed = true;
        return key_verdict::changing;
    }
    return ++confirmations >= needed ? key_verdict::mismatch : key_verdict::confirming;
}

}  // namespace partshift::verify
