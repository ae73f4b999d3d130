// metrics_exporter: the run's Prometheus metrics (run --metrics-addr HOST:PORT), served at
// /metrics in the text exposition format by prometheus-cpp's pull Exposer (its own civetweb
// thread). The values come from the progress counters (base::progress), copied in once a
// second by publish_metrics; nothing here reads the server.
// Names follow Prometheus conventions: partshift_ prefix, base units in the name, _total for
// counters, a `job` label (the partshift job) on every series.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "partshift/base/progress.hpp"

namespace partshift::metrics {

class metrics_exporter {
public:
    // Starts serving on `address` ("127.0.0.1:9187", ":9187" for every interface); throws
    // usage_error (exit 2) when it cannot listen there.
    metrics_exporter(const std::string& address, const std::string& job);
    ~metrics_exporter();
    metrics_exporter(const metrics_exporter&) = delete;
    metrics_exporter& operator=(const metrics_exporter&) = delete;

    // update copies the figures of `p` in; `phase` is the job's phase now.
    void update(const base::progress& p, const std::string& phase);
    // count_error: one more error the run met (a lost connection it resumed from, ...).
    void count_error();

private:
    struct instruments;  // the registry, the exposer and every family (prometheus-cpp types)
    std::unique_ptr<instruments> m_;
};

// publish_metrics updates the exporter from `p` once a second until stop, and once more at
// the end. `phase` tells the phase at each tick.
boost::asio::awaitable<void> publish_metrics(metrics_exporter& exporter, const base::progress& p,
                                             std::function<std::string()> phase,
                                             const std::atomic<bool>& stop);

}  // namespace partshift::metrics
