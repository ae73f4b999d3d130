// progress_signal: a condition variable over the progress counters (see the header).
#include "partshift/base/progress_signal.hpp"

namespace partshift::base {

void progress_signal::notify() {
    // Taken and released before the wake: a waiter that tested its condition before the
    // counter's store holds the mutex until it sleeps, so this wake cannot fall between.
    { std::lock_guard lock(mutex_); }
    changed_.notify_all();
}

bool progress_signal::wait_until(const std::function<bool()>& ready, clock::time_point deadline,
                                 const std::atomic<bool>& stop) {
    std::unique_lock lock(mutex_);
    while (true) {
        if (ready()) return true;
        if (stop.load() || clock::now() >= deadline) return false;
        if (deadline == clock::time_point::max())
            changed_.wait(lock);
        else
            changed_.wait_until(lock, deadline);
    }
}

bool progress_signal::sleep_until(clock::time_point deadline, const std::atomic<bool>& stop) {
    wait_until([] { return false; }, deadline, stop);
    return !stop.load();
}

}  // namespace partshift::base
