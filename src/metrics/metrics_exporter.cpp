// metrics_exporter: prometheus-cpp families fed from base::progress, one set of series per
// job label, served over civetweb. Must not format the exposition text (TextSerializer does).
#include "partshift/metrics/metrics_exporter.hpp"

#include <civetweb.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>

#include "partshift/error.hpp"
#include "partshift/monitor/estimates.hpp"

namespace partshift::metrics {
namespace {

namespace asio = boost::asio;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;

constexpr std::array<const char*, 6> phases = {"preparing", "copy",   "index",
                                               "replay",    "follow", "done"};
constexpr std::array<const char*, 5> throttle_kinds = {"paused", "wal_retention", "replica_lag",
                                                       "load", "throttle_query"};
constexpr std::array<monitor::catch_up_state, 3> catch_up_states = {
    monitor::catch_up_state::caught_up, monitor::catch_up_state::converging,
    monitor::catch_up_state::not_converging};
constexpr std::array<const char*, 3> catch_up_labels = {"caught_up", "converging",
                                                        "not_converging"};

// counter_feed: a prometheus counter driven by an absolute count from progress. Only ever
// increments; a count that went back (progress is made anew when a run resumes after a lost
// server) is taken as counting from zero again.
struct counter_feed {
    Counter* counter = nullptr;
    double last = 0;
    void set(double value) {
        const double delta = value >= last ? value - last : value;
        if (delta > 0) counter->Increment(delta);
        last = value;
    }
};

// optional_gauge: a gauge with a sample only while its value is known.
struct optional_gauge {
    Family<Gauge>* family = nullptr;
    prometheus::Labels labels;
    Gauge* gauge = nullptr;
    void set(std::optional<double> value) {
        if (!value) {
            if (gauge) family->Remove(gauge);
            gauge = nullptr;
            return;
        }
        if (!gauge) gauge = &family->Add(labels);
        gauge->Set(*value);
    }
};

std::optional<double> known(double seconds_left) {
    return seconds_left >= 0 ? std::optional(seconds_left) : std::nullopt;
}

// civetweb's listening_ports: "HOST:PORT", or "PORT" for every interface.
std::string listening_port(const std::string& address) {
    const size_t colon = address.rfind(':');
    const std::string port = colon == std::string::npos ? "" : address.substr(colon + 1);
    const bool numeric = !port.empty() && port.size() <= 5 &&
                         port.find_first_not_of("0123456789") == std::string::npos;
    if (!numeric || std::stoi(port) > 65535)
        throw usage_error(
            "--metrics-addr takes HOST:PORT (127.0.0.1:9187, or :9187 for every "
            "interface), not '" +
            address + "'");
    return colon == 0 ? port : address;
}

// port_in_use: whether another socket holds the address's port, which civetweb's own error
// ("Failed to setup server ports") does not tell apart from a bad address. A host name (not
// an IP address) is not probed.
bool port_in_use(const std::string& address) {
    const size_t colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    if (host.empty()) host = "0.0.0.0";
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(host, ec);
    if (ec) return false;
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io);
    const boost::asio::ip::tcp::endpoint at(
        ip, static_cast<unsigned short>(std::stoi(address.substr(colon + 1))));
    probe.open(at.protocol(), ec);
    if (ec) return false;
    // As civetweb binds: a port only in TIME_WAIT is free.
    probe.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);
    probe.bind(at, ec);
    return ec == boost::asio::error::address_in_use;
}

// The families, registered once; each job adds its own labelled series to them.
struct families {
    explicit families(prometheus::Registry& r)
        : phase(gauge(r, "partshift_phase", "1 for the phase the job is in, 0 for the others")),
          throttled(gauge(r, "partshift_copy_throttled",
                          "1 while the copy waits for this reason, 0 otherwise")),
          rows_copied(counter(r, "partshift_rows_copied_total", "Rows copied by committed chunks")),
          rows_in_flight(gauge(r, "partshift_rows_in_flight",
                               "Rows the running chunks have written, not committed yet "
                               "(estimated from the target's growth)")),
          rows_estimated(
              gauge(r, "partshift_rows_estimated", "The planner's row estimate of the source")),
          copy_rate(gauge(r, "partshift_copy_rate_rows_per_second",
                          "Rows copied per second over the last 30 s, running chunks included")),
          chunks(gauge(r, "partshift_copy_chunks", "Copy chunks planned")),
          chunks_done(gauge(r, "partshift_copy_chunks_done", "Copy chunks finished")),
          index_builds(gauge(r, "partshift_index_builds", "Per-partition index builds planned")),
          index_builds_done(
              gauge(r, "partshift_index_builds_done", "Per-partition index builds finished")),
          seconds_left(gauge(r, "partshift_seconds_left",
                             "Estimated time left of a stage (copy, index, catch_up); no sample "
                             "while unknown")),
          catch_up(gauge(r, "partshift_catch_up",
                         "1 for the applier's catch-up state (caught_up, converging, "
                         "not_converging), 0 for the others; no sample while not applying")),
          applied_lsn(gauge(r, "partshift_applied_lsn_bytes",
                            "Source WAL position applied to the target, in bytes from 0/0")),
          apply_lanes(gauge(r, "partshift_apply_lanes",
                            "Apply lanes the applier runs now (--apply-workers, partshift set)")),
          lane_applied_lsn(gauge(r, "partshift_apply_lane_applied_lsn_bytes",
                                 "Source WAL position each apply lane has applied, in bytes "
                                 "from 0/0; the lowest is partshift_applied_lsn_bytes")),
          streamed_open(gauge(r, "partshift_streamed_transactions_open",
                              "Source transactions streamed before their commit and still "
                              "running (large ones; staged until they commit)")),
          streamed_staged(gauge(r, "partshift_streamed_staged_bytes",
                                "Bytes staged on disk for the streamed transactions still open")),
          source_lsn(gauge(r, "partshift_source_lsn_bytes",
                           "The source server's WAL insert position, in bytes from 0/0")),
          lag_bytes(gauge(r, "partshift_lag_bytes",
                          "Source WAL position minus what is applied (status's lag); no sample "
                          "before the first measurement")),
          lag_seconds(gauge(r, "partshift_lag_seconds",
                            "Age of the oldest committed source change not yet applied")),
          apply_rate(gauge(r, "partshift_apply_rate_changes_per_second",
                           "Changes written to the target per second, smoothed")),
          apply_behind(gauge(r, "partshift_apply_falling_behind",
                             "1 while lag keeps growing: the source writes faster than "
                             "partshift applies")),
          catch_up_paced(gauge(r, "partshift_catch_up_paced",
                               "1 while run --catch-up-pace holds the catch-up to its share of "
                               "the time")),
          changes_applied(counter(r, "partshift_changes_applied_total",
                                  "Source changes committed on the target")),
          changes_spooled(
              counter(r, "partshift_changes_spooled_total", "Source changes written to the spool")),
          retained(gauge(r, "partshift_slot_retained_wal_bytes",
                         "WAL the job's slot pins on the server")),
          safe_wal(gauge(r, "partshift_slot_safe_wal_bytes",
                         "WAL that may still be written before the server may invalidate the "
                         "slot (no sample without max_slot_wal_keep_size)")),
          paused(
              gauge(r, "partshift_copy_paused", "1 while the copy is paused by 'partshift pause'")),
          rate_limit(gauge(r, "partshift_copy_rate_limit_rows_per_second",
                           "The copy's --max-copy-rate ceiling; 0 = none")),
          cutover_attempts(counter(r, "partshift_cutover_attempts_total", "Cutover lock attempts")),
          lock_hold(gauge(r, "partshift_cutover_last_lock_hold_seconds",
                          "Lock hold of the cutover that swapped the tables (kept after it)")),
          errors(counter(r, "partshift_errors_total",
                         "Errors the run met: lost connections it resumed from")) {}

    static Family<Gauge>& gauge(prometheus::Registry& r, const char* name, const char* help) {
        return prometheus::BuildGauge().Name(name).Help(help).Register(r);
    }
    static Family<Counter>& counter(prometheus::Registry& r, const char* name, const char* help) {
        return prometheus::BuildCounter().Name(name).Help(help).Register(r);
    }

    Family<Gauge>& phase;
    Family<Gauge>& throttled;
    Family<Counter>& rows_copied;
    Family<Gauge>& rows_in_flight;
    Family<Gauge>& rows_estimated;
    Family<Gauge>& copy_rate;
    Family<Gauge>& chunks;
    Family<Gauge>& chunks_done;
    Family<Gauge>& index_builds;
    Family<Gauge>& index_builds_done;
    Family<Gauge>& seconds_left;
    Family<Gauge>& catch_up;
    Family<Gauge>& applied_lsn;
    Family<Gauge>& apply_lanes;
    Family<Gauge>& lane_applied_lsn;
    Family<Gauge>& streamed_open;
    Family<Gauge>& streamed_staged;
    Family<Gauge>& source_lsn;
    Family<Gauge>& lag_bytes;
    Family<Gauge>& lag_seconds;
    Family<Gauge>& apply_rate;
    Family<Gauge>& apply_behind;
    Family<Gauge>& catch_up_paced;
    Family<Counter>& changes_applied;
    Family<Counter>& changes_spooled;
    Family<Gauge>& retained;
    Family<Gauge>& safe_wal;
    Family<Gauge>& paused;
    Family<Gauge>& rate_limit;
    Family<Counter>& cutover_attempts;
    Family<Gauge>& lock_hold;
    Family<Counter>& errors;
};

// job_series: one job's series in every family.
struct job_series {
    job_series(families& f, const std::string& job) {
        const prometheus::Labels l{{"job", job}};
        for (size_t i = 0; i < phases.size(); ++i)
            phase[i] = &f.phase.Add({{"job", job}, {"phase", phases[i]}});
        for (size_t i = 0; i < throttle_kinds.size(); ++i)
            throttled[i] = &f.throttled.Add({{"job", job}, {"reason", throttle_kinds[i]}});
        for (size_t i = 0; i < catch_up_labels.size(); ++i)
            catch_up[i] = {&f.catch_up, {{"job", job}, {"state", catch_up_labels[i]}}};
        rows_copied.counter = &f.rows_copied.Add(l);
        rows_in_flight = &f.rows_in_flight.Add(l);
        rows_estimated = &f.rows_estimated.Add(l);
        copy_rate = &f.copy_rate.Add(l);
        chunks = &f.chunks.Add(l);
        chunks_done = &f.chunks_done.Add(l);
        index_builds = &f.index_builds.Add(l);
        index_builds_done = &f.index_builds_done.Add(l);
        copy_left = {&f.seconds_left, {{"job", job}, {"stage", "copy"}}};
        index_left = {&f.seconds_left, {{"job", job}, {"stage", "index"}}};
        catch_up_left = {&f.seconds_left, {{"job", job}, {"stage", "catch_up"}}};
        applied_lsn = &f.applied_lsn.Add(l);
        apply_lanes = &f.apply_lanes.Add(l);
        for (size_t i = 0; i < lane_applied_lsn.size(); ++i)
            lane_applied_lsn[i] = {&f.lane_applied_lsn,
                                   {{"job", job}, {"lane", std::to_string(i)}}};
        streamed_open = &f.streamed_open.Add(l);
        streamed_staged = &f.streamed_staged.Add(l);
        source_lsn = &f.source_lsn.Add(l);
        lag_bytes = {&f.lag_bytes, l};
        lag_seconds = {&f.lag_seconds, l};
        apply_rate = &f.apply_rate.Add(l);
        apply_behind = &f.apply_behind.Add(l);
        catch_up_paced = &f.catch_up_paced.Add(l);
        changes_applied.counter = &f.changes_applied.Add(l);
        changes_spooled.counter = &f.changes_spooled.Add(l);
        retained = {&f.retained, l};
        safe_wal = {&f.safe_wal, l};
        paused = &f.paused.Add(l);
        rate_limit = &f.rate_limit.Add(l);
        cutover_attempts.counter = &f.cutover_attempts.Add(l);
        lock_hold = &f.lock_hold.Add(l);
        errors = &f.errors.Add(l);
    }

    void update(const base::progress& p, const std::string& now_in) {
        for (size_t i = 0; i < phases.size(); ++i) phase[i]->Set(now_in == phases[i] ? 1 : 0);
        const bool done = now_in == "done";
        const auto throttle = p.throttle.get();
        for (size_t i = 0; i < throttle_kinds.size(); ++i)
            throttled[i]->Set(!done && throttle.kind == throttle_kinds[i] ? 1 : 0);
        rows_copied.set(static_cast<double>(p.rows_copied.load()));
        rows_in_flight->Set(static_cast<double>(p.rows_in_flight.load()));
        rows_estimated->Set(static_cast<double>(p.rows_estimate.load()));
        copy_rate->Set(now_in == "copy" ? p.copy_rate.load() : 0);
        chunks->Set(static_cast<double>(p.chunks_total.load()));
        chunks_done->Set(static_cast<double>(p.chunks_done.load()));
        index_builds->Set(static_cast<double>(p.index_builds_total.load()));
        index_builds_done->Set(static_cast<double>(p.index_builds_done.load()));
        copy_left.set(now_in == "copy" ? known(p.copy_seconds_left) : std::nullopt);
        index_left.set(now_in == "index" ? known(p.index_seconds_left) : std::nullopt);
        catch_up_left.set(done ? std::nullopt : known(p.catch_up_seconds_left));
        const auto state = static_cast<monitor::catch_up_state>(p.catch_up.load());
        for (size_t i = 0; i < catch_up_states.size(); ++i)
            catch_up[i].set(done || state == monitor::catch_up_state::unknown
                                ? std::nullopt
                                : std::optional(state == catch_up_states[i] ? 1.0 : 0.0));
        const auto applied = static_cast<double>(p.applied_lsn.load());
        applied_lsn->Set(applied);
        // One series per lane running; with one lane, its position is the job's.
        const auto lanes =
            static_cast<size_t>(std::clamp(p.apply_lanes.load(), 1, base::max_apply_lanes));
        apply_lanes->Set(static_cast<double>(lanes));
        for (size_t i = 0; i < lane_applied_lsn.size(); ++i) {
            std::optional<double> at;
            if (i < lanes)
                at = lanes == 1 ? applied : static_cast<double>(p.lane_applied_lsn[i].load());
            lane_applied_lsn[i].set(at);
        }
        streamed_open->Set(static_cast<double>(p.streamed_open.load()));
        streamed_staged->Set(static_cast<double>(p.streamed_staged_bytes.load()));
        source_lsn->Set(static_cast<double>(p.source_lsn.load()));
        // As the job's row says: the swap committed with lag 0 (state::mark_cut_over).
        const int64_t lag_b = p.lag_bytes, lag_us = p.lag_micros;
        lag_bytes.set(done        ? std::optional(0.0)
                      : lag_b < 0 ? std::nullopt
                                  : std::optional(static_cast<double>(lag_b)));
        lag_seconds.set(done         ? std::optional(0.0)
                        : lag_us < 0 ? std::nullopt
                                     : std::optional(static_cast<double>(lag_us) / 1e6));
        apply_rate->Set(p.apply_rate);
        apply_behind->Set(!done && p.apply_falling_behind ? 1 : 0);
        catch_up_paced->Set(!done && p.catch_up_paced ? 1 : 0);
        changes_applied.set(static_cast<double>(p.changes_applied.load()));
        changes_spooled.set(static_cast<double>(p.changes_spooled.load()));
        const int64_t kept = p.slot_retained_bytes, safe = p.slot_safe_wal_bytes;
        retained.set(kept < 0 ? std::nullopt : std::optional(static_cast<double>(kept)));
        safe_wal.set(safe < 0 ? std::nullopt : std::optional(static_cast<double>(safe)));
        paused->Set(p.copy_paused ? 1 : 0);
        rate_limit->Set(p.max_copy_rate);
        cutover_attempts.set(static_cast<double>(p.cutover_attempts.load()));
        lock_hold->Set(p.last_lock_hold_ms / 1000.0);
    }

    std::array<Gauge*, phases.size()> phase{};
    std::array<Gauge*, throttle_kinds.size()> throttled{};
    std::array<optional_gauge, catch_up_labels.size()> catch_up{};
    std::array<optional_gauge, base::max_apply_lanes> lane_applied_lsn{};
    counter_feed rows_copied, changes_applied, changes_spooled, cutover_attempts;
    Gauge *rows_in_flight, *rows_estimated, *copy_rate, *chunks, *chunks_done, *index_builds,
        *index_builds_done, *applied_lsn, *apply_lanes, *streamed_open, *streamed_staged,
        *source_lsn, *apply_rate, *apply_behind, *catch_up_paced, *paused, *rate_limit, *lock_hold;
    optional_gauge copy_left, index_left, catch_up_left, lag_bytes, lag_seconds, retained, safe_wal;
    Counter* errors;
};

// civetweb_library: mg_init_library / mg_exit_library around the server's life.
struct civetweb_library {
    civetweb_library() { mg_init_library(0); }
    ~civetweb_library() { mg_exit_library(); }
    civetweb_library(const civetweb_library&) = delete;
    civetweb_library& operator=(const civetweb_library&) = delete;
};

struct server_stop {
    void operator()(mg_context* ctx) const { mg_stop(ctx); }
};

}  // namespace

struct metrics_exporter::instruments {
    prometheus::Registry registry;
    families f{registry};
    std::mutex mutex;  // series (Add/Remove happen under the registry's own locks) and below
    std::condition_variable scraped;
    std::map<std::string, std::unique_ptr<job_series>> jobs;
    bool any_done = false;
    int64_t scrapes = 0;
    int64_t updates = 0;              // update() calls so far
    int64_t last_scraped_update = 0;  // the update count the last scrape saw
    civetweb_library library;
    std::unique_ptr<mg_context, server_stop> server;  // last: stopped first

    job_series& series(const std::string& job) {
        auto& s = jobs[job];
        if (!s) s = std::make_unique<job_series>(f, job);
        return *s;
    }

    // serve: GET /metrics (civetweb's thread).
    static int serve(mg_connection* conn, void* self_ptr) {
        auto& self = *static_cast<instruments*>(self_ptr);
        int64_t seen;
        {
            std::lock_guard lock(self.mutex);
            seen = self.updates;
        }
        const std::string body = prometheus::TextSerializer().Serialize(self.registry.Collect());
        mg_send_http_ok(conn, "text/plain; version=0.0.4; charset=utf-8",
                        static_cast<long long>(body.size()));
        mg_write(conn, body.data(), body.size());
        {
            std::lock_guard lock(self.mutex);
            ++self.scrapes;
            self.last_scraped_update = std::max(self.last_scraped_update, seen);
        }
        self.scraped.notify_all();
        return 200;
    }
};

metrics_exporter::metrics_exporter(const std::string& address)
    : m_(std::make_unique<instruments>()) {
    const std::string port = listening_port(address);
    const char* options[] = {"listening_ports",    port.c_str(), "num_threads", "2",
                             "request_timeout_ms", "10000",      nullptr};
    mg_callbacks callbacks{};
    mg_init_data init{};
    init.callbacks = &callbacks;
    init.configuration_options = options;
    char text[256] = "";
    unsigned code = 0;
    mg_error_data error{&code, text, sizeof text};
    m_->server.reset(mg_start2(&init, &error));
    if (!m_->server && port_in_use(address))
        throw usage_error("--metrics-addr " + address +
                          ": cannot listen there: the port is in use by another process; choose "
                          "another port");
    if (!m_->server)
        throw usage_error("--metrics-addr " + address + ": cannot listen there (" +
                          (text[0] ? std::string(text) : "the server did not start") + ")");
    mg_set_request_handler(m_->server.get(), "/metrics", &instruments::serve, m_.get());
}

metrics_exporter::~metrics_exporter() {
    // Stop serving before the series go.
    if (m_) m_->server.reset();
}

void metrics_exporter::update(const std::string& job, const base::progress& p,
                              const std::string& phase) {
    std::lock_guard lock(m_->mutex);
    m_->series(job).update(p, phase);
    if (phase == "done") m_->any_done = true;
    ++m_->updates;
}

void metrics_exporter::count_error(const std::string& job) {
    std::lock_guard lock(m_->mutex);
    m_->series(job).errors->Increment();
}

void metrics_exporter::linger(std::chrono::milliseconds at_most) {
    std::unique_lock lock(m_->mutex);
    if (!m_->any_done || at_most.count() <= 0) return;
    const int64_t last = m_->updates;
    m_->scraped.wait_for(lock, at_most, [&] { return m_->last_scraped_update >= last; });
}

int64_t metrics_exporter::scrapes() const {
    std::lock_guard lock(m_->mutex);
    return m_->scrapes;
}

asio::awaitable<void> publish_metrics(metrics_exporter& exporter, std::string job,
                                      const base::progress& p, std::function<std::string()> phase,
                                      const std::atomic<bool>& stop) {
    asio::steady_timer tick(co_await asio::this_coro::executor);
    while (!stop) {
        exporter.update(job, p, phase());
        tick.expires_after(std::chrono::seconds(1));
        co_await tick.async_wait(asio::use_awaitable);
    }
    exporter.update(job, p, phase());
}

}  // namespace partshift::metrics
