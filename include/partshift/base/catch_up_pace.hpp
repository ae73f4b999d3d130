// catch_up_pace: the share of time a paced catch-up may stream and apply (--catch-up-pace).
// While the job monitor says the catch-up is paced (progress.catch_up_paced), the streamer and
// the applier work only in the first `percent` of each slice of the steady clock and wait out
// the rest. Both count slices on the same clock, so the walsender (blocked on the socket
// partshift does not read), partshift and the apply backends rest at the same moments and the
// application has the server's CPU to itself then.
// Pure: no I/O, no state.
#pragma once

#include <chrono>

#include "partshift/base/progress.hpp"

namespace partshift::base {

// Short enough that a client transaction arriving in a rest waits for no more than this; long
// enough that an apply batch or a socketful of stream is worth starting in the working part.
inline constexpr std::chrono::milliseconds catch_up_slice{50};

// pace_wait: how long a paced role waits at `now` before it works on: zero inside the working
// share of the slice (and always at 100% or more), else what is left of the slice.
std::chrono::steady_clock::duration pace_wait(
    std::chrono::steady_clock::time_point now, int percent,
    std::chrono::steady_clock::duration slice = catch_up_slice);

// paced_rest: what the streamer and the applier wait at `now`: pace_wait at the run's pace
// while the monitor says the catch-up is paced, and never under the cutover's lock (the
// monitor's verdict can be a second old).
std::chrono::steady_clock::duration paced_rest(const progress& p,
                                               std::chrono::steady_clock::time_point now);

}  // namespace partshift::base
