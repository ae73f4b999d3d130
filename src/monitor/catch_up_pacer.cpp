// catch_up_pacer: see the header.
#include "partshift/monitor/catch_up_pacer.hpp"

namespace partshift::monitor {

catch_up_pacer::change catch_up_pacer::judge(const reading& r) {
    const bool over = !r.lag_known || r.lag_seconds > r.max_lag_seconds;
    if (r.percent >= 100 || !r.applying || !over) {
        lifted_ = false;
        if (!paced_) return change::none;
        paced_ = false;
        return change::ended;
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
