// applier_watch: a polling loop over one row of partshift.jobs. No writes.
#include "partshift/verify/applier_watch.hpp"

#include <optional>
#include <thread>

namespace partshift::verify {

applier_watch::applier_watch(pg::connection& conn, std::string job)
    : conn_(conn), job_(std::move(job)) {}

bool applier_watch::wait_past(state::lsn_t lsn, std::chrono::milliseconds timeout,
                              const std::atomic<bool>* stop,
                              std::chrono::milliseconds poll_interval) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<state::lsn_t> last_update;  // source_lsn of the last monitor update seen
    int updates_past = 0;  // distinct monitor updates seen whose source_lsn >= lsn
    for (;;) {
        auto r = conn_.query(
            "SELECT (applied_lsn - '0/0'::pg_lsn)::numeric(20,0)::text, "
            "(source_lsn - '0/0'::pg_lsn)::numeric(20,0)::text, lag_bytes = 0 "
            // A table of a multi-table job: the job's own row carries the one applier's
            // position.
            "FROM partshift.jobs WHERE job = coalesce((SELECT to_jsonb(m) ->> 'group_job' FROM "
            "partshift.jobs m WHERE m.job = $1), $1)",
            job_);
        if (r.rows() == 0) return false;  // the job went away (abort): nothing will catch up
        auto applied = state::lsn_from_number_text(r.opt(0, 0));
        if (applied && *applied >= lsn) return true;
        auto source = state::lsn_from_number_text(r.opt(0, 1));
        if (source && *source >= lsn && source != last_update) {
            ++updates_past;
            last_update = source;
            // The first such update only proves that later ones measure lag from past lsn.
            if (updates_past >= 3 && r.get_bool(0, 2)) return true;
        }
        if (stop && *stop) return false;
        if (std::chrono::steady_clock::now() + poll_interval > deadline) return false;
        // Polled: the applier may run in another process, and its row writes send no NOTIFY.
        std::this_thread::sleep_for(poll_interval);
    }
}

}  // namespace partshift::verify
