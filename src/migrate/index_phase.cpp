// index_phase: the index builds of a job, table by table (see the header).
#include "partshift/migrate/index_phase.hpp"

#include <algorithm>
#include <atomic>

#include "partshift/base/progress.hpp"
#include "partshift/copy/index_builder.hpp"
#include "partshift/throttle/copy_gate.hpp"

namespace partshift::migrate {

namespace asio = boost::asio;

namespace {

// judged_as_copy: while it lives, the throttler judges the index builds as it judges the
// copy (progress.copy_active), so the copy's throttles and pause hold them too.
class judged_as_copy {
  public:
    explicit judged_as_copy(base::progress& progress)
        : progress_(progress), was_(progress.copy_active.exchange(true)) {}
    ~judged_as_copy() { progress_.copy_active = was_; }
    judged_as_copy(const judged_as_copy&) = delete;
    judged_as_copy& operator=(const judged_as_copy&) = delete;

  private:
    base::progress& progress_;
    bool was_;
};

// bytes_per_row: the source's bytes per row, what a target partition with no row estimate yet
// is paced by (an overestimate: the source's indexes count too, so such a build waits less).
double bytes_per_row(const catalog::table_model& table) {
    if (table.row_estimate <= 0 || table.total_bytes <= 0) return 100;
    return static_cast<double>(table.total_bytes) / static_cast<double>(table.row_estimate);
}

}  // namespace

asio::awaitable<bool> build_job_indexes(run_context& ctx, index_kind kind) {
    copy::index_build_options options;
    options.workers = ctx.copy_workers;
    // Phase index only: its builds are what status's time left counts (the unique builds
    // during follow have no phase of their own).
    if (kind == index_kind::primary_and_plain) options.progress = &ctx.progress;
    throttle::copy_gate gate(ctx.progress);
    options.gate = &gate;
    judged_as_copy judged(ctx.progress);
    for (const auto& t : ctx.tables) {
        options.bytes_per_row = bytes_per_row(*t.table);
        // Named arguments, not temporaries: GCC 12 mis-destroys prvalues in co_await
        // operands.
        catalog::qualified_name target = t.target;
        auto indexes = indexes_to_build(*t.table, *t.plan);
        auto build = kind == index_kind::unique
                         ? copy::build_unique_indexes(ctx.options.dsn, target, indexes, options,
                                                      ctx.tasks.stop_flag())
                         : copy::build_indexes(ctx.options.dsn, target, indexes, options,
                                               ctx.tasks.stop_flag());
        const bool built = co_await std::move(build);
        if (!built) co_return false;
    }
    co_return true;
}

void build_primary_keys_now(const std::string& dsn, const std::vector<table_ref>& tables,
                            const std::vector<bool>& which) {
    for (size_t i = 0; i < tables.size() && i < which.size(); ++i) {
        if (!which[i]) continue;
        auto indexes = indexes_to_build(*tables[i].table, *tables[i].plan);
        std::erase_if(indexes, [](const copy::index_to_build& x) { return !x.is_primary; });
        std::atomic<bool> never{false};
        copy::index_build_options o;
        o.workers = 1;
        copy::build_indexes_blocking(dsn, tables[i].plan->target, indexes, o, never,
                                     /*unique_only=*/false);
    }
}

}  // namespace partshift::migrate
