// catch_up_pacer: whether a catch-up is paced now (--catch-up-pace, base/catch_up_pace.hpp),
// judged once a second by the job monitor. Paced while the applier runs with a lag over
// --max-lag (after the copy, after a resume, after a burst), and from the moment it starts
// until the lag is measured: the first seconds of a catch-up are its busiest. The pace is lifted
// when at that pace the lag does not shrink (the catch-up meter says not converging, or the applier
// is falling behind), and stays lifted until the lag is back within --max-lag: the pace must never
// be the reason a migration cannot finish.
// Pure: the monitor reads the figures and logs the changes.
#pragma once

namespace partshift::monitor {

class catch_up_pacer {
  public:
    enum class change {
        none,
        paced,   // the lag went over --max-lag: from now on, paced
        lifted,  // at this pace the lag would not shrink: full speed until caught up
        ended,   // caught up (or the applier stopped, or the pace was turned off)
        // caught up at full speed after a lift: the next catch-up is paced again (said, so the
        // log shows where the unpaced stretch ended)
        caught_up_after_lift,
    };
    struct reading {
        int percent = 100;       // --catch-up-pace; 100 = no pace
        bool applying = false;   // the applier runs (follow phase, not the cutover's lock)
        bool lag_known = true;   // false until the monitor has measured it
        double lag_seconds = 0;  // monitor/lag
        double max_lag_seconds = 1;
        bool not_converging = false;  // catch_up_meter's verdict or apply_pace's "behind"
    };

    change judge(const reading& r);
    bool paced() const { return paced_; }

  private:
    bool paced_ = false;
    bool lifted_ = false;
};

}  // namespace partshift::monitor
