// metrics_exporter: prometheus-cpp families fed from base::progress. Must not format the
// exposition text or speak HTTP itself: the library does both.
#include "partshift/metrics/metrics_exporter.hpp"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <limits>

#include "partshift/error.hpp"

namespace partshift::metrics {
namespace {

namespace asio = boost::asio;

constexpr std::array<const char*, 6> phases = {"preparing", "copy",   "index",
                                               "replay",    "follow", "done"};
constexpr std::array<const char*, 5> throttle_kinds = {"paused", "wal_retention", "replica_lag",
                                                       "load", "throttle_query"};
constexpr double unknown = std::numeric_limits<double>::quiet_NaN();

// counter_feed: a prometheus counter driven by an absolute count from progress. Only ever
// increments; a count that went back (progress is made anew when a run resumes after a lost
// server) is taken as counting from zero again.
struct counter_feed {
    prometheus::Counter* counter = nullptr;
    double last = 0;
    void set(double value) {
        const double delta = value >= last ? value - last : value;
        if (delta > 0) counter->Increment(delta);
        last = value;
    }
};

// civetweb's listening_ports: "HOST:PORT", or "PORT" for every interface.
std::string listening_port(const std::string& address) {
    const size_t colon = address.rfind(':');
    const std::string port = colon == std::string::npos ? "" : address.substr(colon + 1);
    const bool numeric = !port.empty() && port.size() <= 5 &&
                         port.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric || std::stoi(port) > 65535)
        throw usage_error("--metrics-addr takes HOST:PORT (127.0.0.1:9187, or :9187 for every "
                          "interface), not '" + address + "'");
    return colon == 0 ? port : address;
}

}  // namespace

struct metrics_exporter::instruments {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    std::unique_ptr<prometheus::Exposer> exposer;
    std::array<prometheus::Gauge*, phases.size()> phase{};
    std::array<prometheus::Gauge*, throttle_kinds.size()> throttled{};
    prometheus::Gauge *rows_estimated, *chunks, *chunks_done, *applied_lsn, *source_lsn,
        *lag_bytes, *lag_seconds, *apply_rate, *apply_behind, *retained, *safe_wal, *paused,
        *rate_limit, *lock_hold;
    counter_feed rows_copied, changes_applied, changes_spooled, cutover_attempts;
    prometheus::Counter* errors;
};

metrics_exporter::metrics_exporter(const std::string& address, const std::string& job)
    : m_(std::make_unique<instruments>()) {
    auto& r = *m_->registry;
    const prometheus::Labels labels{{"job", job}};
    auto gauge = [&](const char* name, const char* help) {
        return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add(labels);
    };
    auto counter = [&](const char* name, const char* help) {
        return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add(labels);
    };
    auto& phase = prometheus::BuildGauge()
                      .Name("partshift_phase")
                      .Help("1 for the phase the job is in, 0 for the others")
                      .Register(r);
    for (size_t i = 0; i < phases.size(); ++i)
        m_->phase[i] = &phase.Add({{"job", job}, {"phase", phases[i]}});
    auto& throttled = prometheus::BuildGauge()
                          .Name("partshift_copy_throttled")
                          .Help("1 while the copy waits for this reason, 0 otherwise")
                          .Register(r);
    for (size_t i = 0; i < throttle_kinds.size(); ++i)
        m_->throttled[i] = &throttled.Add({{"job", job}, {"reason", throttle_kinds[i]}});
    m_->rows_copied.counter = counter("partshift_rows_copied_total", "Rows copied by finished chunks");
    m_->rows_estimated = gauge("partshift_rows_estimated", "The planner's row estimate of the source");
    m_->chunks = gauge("partshift_copy_chunks", "Copy chunks planned");
    m_->chunks_done = gauge("partshift_copy_chunks_done", "Copy chunks finished");
    m_->applied_lsn = gauge("partshift_applied_lsn_bytes",
                            "Source WAL position applied to the target, in bytes from 0/0");
    m_->source_lsn = gauge("partshift_source_lsn_bytes",
                           "The source server's WAL insert position, in bytes from 0/0");
    m_->lag_bytes = gauge("partshift_lag_bytes", "Source WAL position minus what is applied");
    m_->lag_seconds = gauge("partshift_lag_seconds",
                            "Age of the oldest committed source change not yet applied");
    m_->apply_rate = gauge("partshift_apply_rate_changes_per_second",
                           "Changes written to the target per second, smoothed");
    m_->apply_behind = gauge("partshift_apply_falling_behind",
                             "1 while lag keeps growing: the source writes faster than partshift "
                             "applies");
    m_->changes_applied.counter =
        counter("partshift_changes_applied_total", "Source changes committed on the target");
    m_->changes_spooled.counter =
        counter("partshift_changes_spooled_total", "Source changes written to the spool");
    m_->retained = gauge("partshift_slot_retained_wal_bytes", "WAL the job's slot pins on the server");
    m_->safe_wal = gauge("partshift_slot_safe_wal_bytes",
                         "WAL that may still be written before the server may invalidate the slot "
                         "(NaN without max_slot_wal_keep_size)");
    m_->paused = gauge("partshift_copy_paused", "1 while the copy is paused by 'partshift pause'");
    m_->rate_limit = gauge("partshift_copy_rate_limit_rows_per_second",
                           "The copy's --max-copy-rate ceiling; 0 = none");
    m_->cutover_attempts.counter =
        counter("partshift_cutover_attempts_total", "Cutover lock attempts");
    m_->lock_hold = gauge("partshift_cutover_last_lock_hold_seconds",
                          "Lock hold of the cutover that swapped the tables");
    m_->errors = counter("partshift_errors_total",
                         "Errors the run met: lost connections it resumed from");
    try {
        m_->exposer = std::make_unique<prometheus::Exposer>(listening_port(address), 1);
    } catch (const partshift::error&) {
        throw;
    } catch (const std::exception& e) {
        throw usage_error("--metrics-addr " + address + ": cannot listen there (" + e.what() + ")");
    }
    m_->exposer->RegisterCollectable(m_->registry);
}

metrics_exporter::~metrics_exporter() = default;

void metrics_exporter::update(const base::progress& p, const std::string& phase) {
    for (size_t i = 0; i < phases.size(); ++i) m_->phase[i]->Set(phase == phases[i] ? 1 : 0);
    const auto throttle = p.throttle.get();
    for (size_t i = 0; i < throttle_kinds.size(); ++i)
        m_->throttled[i]->Set(throttle.kind == throttle_kinds[i] ? 1 : 0);
    m_->rows_copied.set(static_cast<double>(p.rows_copied.load()));
    m_->rows_estimated->Set(static_cast<double>(p.rows_estimate.load()));
    m_->chunks->Set(static_cast<double>(p.chunks_total.load()));
    m_->chunks_done->Set(static_cast<double>(p.chunks_done.load()));
    m_->applied_lsn->Set(static_cast<double>(p.applied_lsn.load()));
    m_->source_lsn->Set(static_cast<double>(p.source_lsn.load()));
    const int64_t lag_bytes = p.lag_bytes, lag_micros = p.lag_micros;
    m_->lag_bytes->Set(lag_bytes < 0 ? unknown : static_cast<double>(lag_bytes));
    m_->lag_seconds->Set(lag_micros < 0 ? unknown : static_cast<double>(lag_micros) / 1e6);
    m_->apply_rate->Set(p.apply_rate);
    m_->apply_behind->Set(p.apply_falling_behind ? 1 : 0);
    m_->changes_applied.set(static_cast<double>(p.changes_applied.load()));
    m_->changes_spooled.set(static_cast<double>(p.changes_spooled.load()));
    const int64_t retained = p.slot_retained_bytes, safe = p.slot_safe_wal_bytes;
    m_->retained->Set(retained < 0 ? unknown : static_cast<double>(retained));
    m_->safe_wal->Set(safe < 0 ? unknown : static_cast<double>(safe));
    m_->paused->Set(p.copy_paused ? 1 : 0);
    m_->rate_limit->Set(p.max_copy_rate);
    m_->cutover_attempts.set(static_cast<double>(p.cutover_attempts.load()));
    m_->lock_hold->Set(p.last_lock_hold_ms / 1000.0);
}

void metrics_exporter::count_error() { m_->errors->Increment(); }

asio::awaitable<void> publish_metrics(metrics_exporter& exporter, const base::progress& p,
                                      std::function<std::string()> phase,
                                      const std::atomic<bool>& stop) {
    asio::steady_timer tick(co_await asio::this_coro::executor);
    while (!stop) {
        exporter.update(p, phase());
        tick.expires_after(std::chrono::seconds(1));
        co_await tick.async_wait(asio::use_awaitable);
    }
    exporter.update(p, phase());
}

}  // namespace partshift::metrics
