// catch_up_pacer: see the header.
#include "partshift/monitor/catch_up_pacer.hpp"

namespace partshift::monitor {

catch_up_pacer::change catch_up_pacer::judge(const reading& r) {
    const bool over = !r.lag_known || r.lag_seconds > r.max_lag_seconds;
    if (r.percent >= 100 || !r.applying || !over) {
        const bool was_lifted = lifted_;
        lifted_ = false;
        if (paced_) {
            paced_ = false;
            return change::ended;
        }
        // Only a catch-up that got there: not the applier stopping, nor the pace turned off.
        const bool caught_up = r.percent < 100 && r.applying && !over;
        return was_lifted && caught_up ? change::caught_up_after_lift : change::none;
    }
    if (paced_) {
        if (!r.not_converging) return change::none;
        paced_ = false;
        lifted_ = true;
        return change::lifted;
    }
    if (lifted_) return change::none;
    paced_ = true;
    return change::paced;
}

}  // namespace partshift::monitor
