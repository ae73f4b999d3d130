// catch_up_pace: see the header.
#include "partshift/base/catch_up_pace.hpp"

namespace partshift::base {

std::chrono::steady_clock::duration pace_wait(std::chrono::steady_clock::time_point now,
                                              int percent,
                                              std::chrono::steady_clock::duration slice) {
    if (percent >= 100 || slice.count() <= 0) return {};
    const auto into = now.time_since_epoch() % slice;
    const auto working = slice * (percent < 0 ? 0 : percent) / 100;
    return into < working ? std::chrono::steady_clock::duration{} : slice - into;
}

std::chrono::steady_clock::duration paced_rest(const progress& p,
                                               std::chrono::steady_clock::time_point now) {
    if (!p.catch_up_paced || p.cutover.load() == cutover_stage::cutting_over) return {};
    return pace_wait(now, p.catch_up_pace_percent);
}

}  // namespace partshift::base
