// metrics_exporter: the run's Prometheus metrics (run --metrics-addr HOST:PORT), served at
// /metrics in the text exposition format by an embedded civetweb server (its own threads).
// The values come from the progress counters (base::progress), copied in once a second by
// publish_metrics; nothing here reads the server.
// Names follow Prometheus conventions: partshift_ prefix, base units in the name, _total for
// counters, a `job` label (the partshift job) on every series. One process may serve two jobs
// in turn: a migration and then its revert window's reverse job (NAME.revert), each under its
// own `job` value, so the forward job's last figures (phase done, the lock hold) stay.
// A figure that is not known yet (lag before its first measurement, a time left without a
// rate) has no sample rather than NaN. Only partshift's own series are served: not the
// exposer_* series prometheus-cpp's Exposer adds to every endpoint (it offers no way to leave
// them out), which is why the HTTP side is civetweb's, not Exposer's.
// Must not format the exposition text (prometheus-cpp's TextSerializer does).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "partshift/base/progress.hpp"

namespace partshift::metrics {

class metrics_exporter {
  public:
    // Starts serving on `address` ("127.0.0.1:9187", ":9187" for every interface); throws
    // usage_error (exit 2) when it cannot listen there, with the server's reason.
    explicit metrics_exporter(const std::string& address);
    ~metrics_exporter();
    metrics_exporter(const metrics_exporter&) = delete;
    metrics_exporter& operator=(const metrics_exporter&) = delete;

    // update copies the figures of `p` in, under job=`job`; `phase` is the job's phase now.
    // Thread-safe against scrapes.
    void update(const std::string& job, const base::progress& p, const std::string& phase);
    // count_error: one more error the run met (a lost connection it resumed from, ...).
    void count_error(const std::string& job);

    // linger: when a job it serves has reached `done`, keep serving until a scrape has read
    // the figures published last, or `at_most` has passed (run --metrics-linger), so the
    // final state reaches Prometheus. Returns at once otherwise. Blocks.
    void linger(std::chrono::milliseconds at_most);

    // scrapes: /metrics requests answered so far.
    int64_t scrapes() const;

  private:
    struct instruments;  // the registry, the HTTP server and every family
    std::unique_ptr<instruments> m_;
};

// publish_metrics updates the exporter from `p` under job=`job` once a second until stop, and
// once more at the end. `phase` tells the phase at each tick.
boost::asio::awaitable<void> publish_metrics(metrics_exporter& exporter, std::string job,
                                             const base::progress& p,
                                             std::function<std::string()> phase,
                                             const std::atomic<bool>& stop);

}  // namespace partshift::metrics
