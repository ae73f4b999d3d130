// verifier: the verify loop — plan key ranges, compare digests per range, gather the keys of
// ranges that differ and follow them together through bounded rechecks. All SQL text comes
// from checksum_sql and the copier's chunk_sql; values travel as parameters. Read-only.
#include "partshift/verify/verifier.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "partshift/catalog/inspector.hpp"
#include "partshift/copy/chunk_planner.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/array_literal.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/stream/pgoutput_messages.hpp"
#include "partshift/verify/applier_watch.hpp"
#include "partshift/verify/checksum_sql.hpp"
#include "partshift/verify/key_recheck.hpp"
#include "partshift/verify/table_pair.hpp"

namespace partshift::verify {
namespace {

using clock = std::chrono::steady_clock;

// Every read is one read-only snapshot: the range settings, the WAL position and the digests
// must belong together.
constexpr const char* begin_snapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

int64_t parse_int64(const std::string& text) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        throw runtime_error("unexpected integer from the server: " + text);
    return value;
}

state::lsn_t parse_lsn(const std::string& text) {
    auto lsn = stream::parse_lsn(text);
    if (!lsn) throw runtime_error("unexpected WAL position from the server: " + text);
    return *lsn;
}

// key_row: one row of diff_keys_sql / recheck_keys_sql.
struct key_row {
    copy::key_value key;
    row_digest left, right;
};

std::vector<key_row> read_key_rows(const pg::result& r, size_t key_columns) {
    std::vector<key_row> rows;
    rows.reserve(r.rows());
    const int k = static_cast<int>(key_columns);
    for (int row = 0; row < r.rows(); ++row) {
        key_row out;
        for (int col = 0; col < k; ++col) out.key.push_back(r.get(row, col));
        out.left = {r.get_int(row, k), r.get(row, k + 1)};
        out.right = {r.get_int(row, k + 2), r.get(row, k + 3)};
        rows.push_back(std::move(out));
    }
    return rows;
}

// open_range: a key range that differed at first sight, waiting for its keys' verdicts.
struct open_range {
    range_result result;
    bool truncated = false;  // more keys differed than one diff returns
    std::vector<copy::key_value> mismatched, unresolved;
};

// tracked_key: a differing key being rechecked, and the open range it belongs to.
struct tracked_key {
    key_recheck state;
    size_t range = 0;
};

// first_diff: the differing keys of a range, read in one snapshot at `position`.
struct first_diff {
    std::vector<key_row> rows;
    state::lsn_t position = 0;
    bool truncated = false;
};

class verifier {
  public:
    verifier(pg::connection& conn, const state::job_record& job, const verify_options& options)
        : conn_(conn), job_(job), options_(options), watch_(conn, job.job) {}

    report run() {
        const auto started = clock::now();
        report out;
        out.job = job_.job;
        out.phase = job_.phase;
        if (job_.phase == state::phase::preparing || job_.phase == state::phase::copy)
            throw usage_error("job " + job_.job + " is in phase " + job_.phase +
                              ": the target is complete only once the copy is done; verify "
                              "again from phase index on");

        const table_pair pair = find_table_pair(conn_, job_);
        out.swapped = pair.swapped;
        out.run_active = run_active();
        spec_ = load_spec(pair);
        out.left = left_display_;
        out.right = right_display_;
        waiting_ = options_.wait == applier_wait::always ||
                   (options_.wait == applier_wait::automatic && out.run_active && !pair.swapped);

        const auto ranges = plan_ranges();
        out.chunks_total = static_cast<int64_t>(ranges.size());
        spdlog::debug("verify: comparing {} with {} in {} key ranges{}", out.left, out.right,
                      ranges.size(), waiting_ ? " (rechecks wait for the applier)" : "");
        // Ranges that differ are not rechecked one by one: their keys are gathered and
        // rechecked together, so one wait for the applier serves them all (an idle applier
        // takes a few seconds per wait, see applier_watch).
        batch open;
        for (const auto& bounds : ranges) {
            check_stop();
            range_result result{bounds, 0, 0, {}};
            auto diff = first_look(bounds, result, out);
            out.rows_left += result.rows_left;
            out.rows_right += result.rows_right;
            if (!diff) continue;
            ++out.chunks_rechecked;
            open.add(std::move(result), std::move(*diff));
            if (open.keys.size() >= static_cast<size_t>(options_.max_keys_in_flight))
                settle(open, out);
        }
        settle(open, out);
        out.seconds = std::chrono::duration<double>(clock::now() - started).count();
        return out;
    }

  private:
    void check_stop() const {
        if (options_.stop && *options_.stop) throw runtime_error("verify was stopped");
    }

    bool run_active() {
        auto r = conn_.query(
            "SELECT coalesce((SELECT active FROM pg_replication_slots WHERE slot_name = $1), "
            "false)",
            job_.slot_name);
        return r.get_bool(0, 0);
    }

    // load_spec: the key and the columns, from the plain table's model (its apply key is the
    // engine's row identity); every column of it must exist in the partitioned table.
    copy::quoted_copy_spec load_spec(const table_pair& pair) {
        pg::transaction tx(conn_, begin_snapshot);
        model_ = catalog::inspect_table(conn_, pair.left);
        auto right_columns = conn_.query(
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
            "AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
            pair.right.schema, pair.right.name);
        tx.commit();

        copy::quoted_copy_spec spec;
        spec.source =
            pg::escape_identifier(pair.left.schema) + "." + pg::escape_identifier(pair.left.name);
        spec.target =
            pg::escape_identifier(pair.right.schema) + "." + pg::escape_identifier(pair.right.name);
        // For the report: quoted only where needed, as status prints names.
        auto names = conn_.query(
            "SELECT format('%I.%I', $1::text, $2::text), "
            "format('%I.%I', $3::text, $4::text)",
            pair.left.schema, pair.left.name, pair.right.schema, pair.right.name);
        left_display_ = names.get(0, 0);
        right_display_ = names.get(0, 1);
        const catalog::index* key = model_.apply_key();
        if (!key || key->key_columns.empty())
            throw runtime_error(spec.source +
                                " has no primary key or replica identity index on plain columns; "
                                "verify compares by that key");
        std::set<std::string> present;
        for (int i = 0; i < right_columns.rows(); ++i) present.insert(right_columns.get(i, 0));
        for (const auto& c : model_.columns) {
            if (!present.count(c.name))
                throw runtime_error("column " + pg::escape_identifier(c.name) + " of " +
                                    spec.source + " is missing from " + spec.target);
            spec.columns.push_back(pg::escape_identifier(c.name));
        }
        for (const auto& name : key->key_columns) {
            const catalog::column* c = model_.find_column(name);
            if (!c)
                throw runtime_error("key column " + name + " is not a column of " + spec.source);
            spec.key_columns.push_back(pg::escape_identifier(c->name));
            spec.key_types.push_back(c->type_name);
        }
        return spec;
    }

    // plan_ranges: the copier's range arithmetic on the plain table as it is now (not the
    // copy's stored chunks: rows inserted since would all land in its last, open range).
    std::vector<copy::chunk_bounds> plan_ranges() {
        copy::chunk_options chunking;
        chunking.target_rows = std::max<int64_t>(1, options_.chunk_rows);
        // No byte cap: verify moves no rows, the cap exists for the copy's target transactions.
        chunking.max_chunk_bytes = std::numeric_limits<int64_t>::max();
        int64_t estimate = model_.row_estimate;
        if (estimate <= 0)
            estimate = conn_.exec("SELECT count(*) FROM " + spec_.source).get_int(0, 0);
        const int64_t per_chunk = copy::rows_per_chunk(estimate, model_.total_bytes, chunking);
        if (spec_.key_columns.size() == 1 && copy::is_integer_type(spec_.key_types[0])) {
            auto r = conn_.exec(copy::min_max_sql(spec_));
            if (r.is_null(0, 0)) return {copy::chunk_bounds{}};
            if (auto ranges =
                    copy::dense_integer_ranges(parse_int64(r.get(0, 0)), parse_int64(r.get(0, 1)),
                                               estimate, per_chunk, chunking))
                return std::move(*ranges);
        }
        if (estimate <= per_chunk) return {copy::chunk_bounds{}};
        auto r = conn_.query(copy::boundary_sample_sql(spec_), per_chunk);
        std::vector<copy::key_value> boundaries;
        boundaries.reserve(r.rows());
        for (int row = 0; row < r.rows(); ++row) {
            copy::key_value v;
            for (int col = 0; col < r.columns(); ++col) v.push_back(r.get(row, col));
            boundaries.push_back(std::move(v));
        }
        return copy::ranges_from_boundaries(boundaries);
    }

    // open_snapshot begins a snapshot transaction with the range's settings and returns the WAL
    // insert position read inside it: every source commit it sees ends at or before it.
    state::lsn_t open_snapshot(const copy::chunk_bounds& bounds) {
        auto r = conn_.exec(copy::snapshot_sql(bounds), copy::snapshot_params(bounds));
        return parse_lsn(r.get(0, 0));
    }

    // first_look compares the range's digests (and counts the right side's duplicate keys);
    // nullopt when they are equal, else the keys that differ.
    std::optional<first_diff> first_look(const copy::chunk_bounds& bounds, range_result& result,
                                         report& out) {
        row_digest left, right;
        {
            pg::transaction tx(conn_, begin_snapshot);
            open_snapshot(bounds);
            auto r = conn_.exec(left_digest_sql(spec_, bounds));
            left = {r.get_int(0, 0), r.get(0, 1)};
            tx.commit();
        }
        {
            // A later snapshot than the left one: the applier has had a moment more.
            pg::transaction tx(conn_, begin_snapshot);
            open_snapshot(bounds);
            auto r = conn_.exec(right_digest_sql(spec_, bounds));
            right = {r.get_int(0, 0), r.get(0, 1)};
            if (int64_t duplicates = r.get_int(0, 2); duplicates > 0)
                collect_duplicates(bounds, duplicates, out);
            tx.commit();
        }
        result.rows_left = left.rows;
        result.rows_right = right.rows;
        if (left == right) return std::nullopt;
        auto diff = diff_range(bounds);
        if (diff.rows.empty()) return std::nullopt;  // equal in one snapshot: caught up
        return diff;
    }

    void collect_duplicates(const copy::chunk_bounds& bounds, int64_t count, report& out) {
        out.duplicate_keys_total += count;
        const auto room =
            options_.max_reported_duplicates - static_cast<int64_t>(out.duplicate_keys.size());
        if (room <= 0) return;
        auto r = conn_.query(duplicate_keys_sql(spec_, bounds), room);
        const int k = static_cast<int>(spec_.key_columns.size());
        for (int row = 0; row < r.rows(); ++row) {
            duplicate_key d;
            for (int col = 0; col < k; ++col) d.key.push_back(r.get(row, col));
            d.copies = r.get_int(row, k);
            out.duplicate_keys.push_back(std::move(d));
        }
    }

    // diff_range: the keys of the range whose rows differ, at most max_keys_per_pass.
    first_diff diff_range(const copy::chunk_bounds& bounds) {
        first_diff diff;
        pg::transaction tx(conn_, begin_snapshot);
        diff.position = open_snapshot(bounds);
        diff.rows =
            read_key_rows(conn_.query(diff_keys_sql(spec_, bounds), options_.max_keys_per_pass + 1),
                          spec_.key_columns.size());
        tx.commit();
        diff.truncated = diff.rows.size() > static_cast<size_t>(options_.max_keys_per_pass);
        if (diff.truncated) diff.rows.pop_back();
        return diff;
    }

    // batch: open ranges and their keys, rechecked together.
    struct batch {
        std::vector<open_range> ranges;
        std::vector<tracked_key> keys;
        state::lsn_t position = 0;  // the latest diff snapshot's position

        void add(range_result result, first_diff diff) {
            const size_t index = ranges.size();
            ranges.push_back({std::move(result), diff.truncated, {}, {}});
            for (auto& row : diff.rows)
                keys.push_back({{std::move(row.key), row.left, 0, false}, index});
            position = std::max(position, diff.position);
        }
    };

    // settle follows the batch's keys to their verdicts and files each range in the report.
    // A range whose diff was cut short and whose followed keys all settled equal is diffed
    // again on its own (more keys differed than one pass follows).
    void settle(batch& b, report& out) {
        follow(b);
        for (auto& range : b.ranges) {
            if (range.truncated && range.mismatched.empty() && range.unresolved.empty())
                repass(range);
            auto file = [&](std::vector<range_result>& list, std::vector<copy::key_value> keys) {
                if (keys.size() > static_cast<size_t>(options_.max_reported_keys))
                    keys.resize(static_cast<size_t>(options_.max_reported_keys));
                range.result.keys = std::move(keys);
                list.push_back(std::move(range.result));
            };
            if (!range.mismatched.empty()) {
                spdlog::debug("verify: key range {} differs",
                              copy::describe_bounds(range.result.bounds));
                file(out.mismatches, std::move(range.mismatched));
            } else if (!range.unresolved.empty() || range.truncated) {
                file(out.still_changing, std::move(range.unresolved));
            }
        }
        b = batch{};
    }

    // repass: diff and follow one range again until no more keys differ than one pass
    // follows; still changing (truncated stays set) when every pass is cut short.
    void repass(open_range& range) {
        for (int pass = 1; pass < options_.max_rounds; ++pass) {
            check_stop();
            auto diff = diff_range(range.result.bounds);
            if (diff.rows.empty()) {
                range.truncated = false;
                return;
            }
            batch one;
            one.add(range_result{range.result.bounds, 0, 0, {}}, std::move(diff));
            follow(one);
            range.mismatched = std::move(one.ranges[0].mismatched);
            range.unresolved = std::move(one.ranges[0].unresolved);
            range.truncated = one.ranges[0].truncated;
            if (!range.mismatched.empty() || !range.unresolved.empty() || !range.truncated) return;
        }
    }

    // follow: rounds of (wait for the applier to pass the last snapshot's position, read both
    // sides of the pending keys in one new snapshot, judge each key). Verdicts land in the
    // keys' ranges; keys left when the rounds, the budget or the applier's time run out are
    // unresolved.
    void follow(batch& b) {
        // The budget counts recheck time only: reading a large table once may take far longer.
        follow_started_ = clock::now();
        struct account {
            verifier& v;
            ~account() { v.recheck_spent_ += clock::now() - v.follow_started_; }
        } spent{*this};
        std::vector<tracked_key> pending = std::move(b.keys);
        state::lsn_t position = b.position;
        for (int round = 0; round < options_.max_rounds && !pending.empty(); ++round) {
            check_stop();
            if (!wait_for_applier(position)) break;
            std::vector<key_row> now;
            {
                pg::transaction tx(conn_, begin_snapshot);
                position = open_snapshot({});
                now = read_key_rows(conn_.exec(recheck_keys_sql(spec_), key_arrays(pending)),
                                    spec_.key_columns.size());
                tx.commit();
            }
            // The recheck returns one row per key asked for, keyed by the same text values.
            std::map<copy::key_value, const key_row*> by_key;
            for (const auto& row : now) by_key.emplace(row.key, &row);
            std::vector<tracked_key> still;
            for (auto& key : pending) {
                auto found = by_key.find(key.state.key);
                if (found == by_key.end())
                    throw runtime_error("verify: a rechecked key did not come back from " +
                                        spec_.source);
                const key_row& row = *found->second;
                switch (key.state.judge(row.left, row.right, options_.confirmations)) {
                    case key_verdict::equal:
                        break;
                    case key_verdict::mismatch:
                        b.ranges[key.range].mismatched.push_back(std::move(key.state.key));
                        break;
                    case key_verdict::changing:
                    case key_verdict::confirming:
                        still.push_back(std::move(key));
                        break;
                }
            }
            pending = std::move(still);
        }
        for (auto& key : pending)
            b.ranges[key.range].unresolved.push_back(std::move(key.state.key));
    }

    // key_arrays: one array parameter per key column, for recheck_keys_sql.
    pg::param_list key_arrays(const std::vector<tracked_key>& keys) const {
        pg::param_list params;
        for (size_t col = 0; col < spec_.key_columns.size(); ++col) {
            std::vector<std::string> values;
            values.reserve(keys.size());
            for (const auto& k : keys) values.push_back(k.state.key.at(col));
            params.emplace_back(pg::text_array_literal(values));
        }
        return params;
    }

    // wait_for_applier: true when the rechecks may go on (the applier passed `position`, or
    // nothing is waited for); false when the budget or the applier's time ran out. After one
    // wait ran out the applier is far behind: waiting again for every later range would only
    // multiply the timeout, so the remaining ranges that differ are still changing at once.
    bool wait_for_applier(state::lsn_t position) {
        const auto left = std::chrono::duration_cast<clock::duration>(options_.recheck_budget) -
                          recheck_spent_ - (clock::now() - follow_started_);
        if (left <= clock::duration::zero() || applier_behind_) return false;
        if (!waiting_) return true;
        auto timeout = std::min(options_.applier_timeout,
                                std::chrono::duration_cast<std::chrono::milliseconds>(left));
        bool passed = options_.wait_for_applier
                          ? options_.wait_for_applier(position, timeout)
                          : watch_.wait_past(position, timeout, options_.stop);
        if (!passed && !(options_.stop && *options_.stop)) {
            applier_behind_ = true;
            spdlog::warn(
                "verify: the applier did not reach {} within {} ms; key ranges that differ are "
                "reported as still changing",
                stream::format_lsn(position), timeout.count());
        }
        return passed;
    }

    pg::connection& conn_;
    const state::job_record& job_;
    const verify_options& options_;
    applier_watch watch_;
    catalog::table_model model_;
    copy::quoted_copy_spec spec_;
    std::string left_display_, right_display_;
    bool waiting_ = false;
    bool applier_behind_ = false;
    clock::duration recheck_spent_{};   // time spent in finished follow() calls
    clock::time_point follow_started_;  // start of the follow() under way
};

}  // namespace

report verify_job(const std::string& dsn, const state::job_record& job,
                  const verify_options& options) {
    pg::connection conn(dsn, "partshift-verify");
    return verifier(conn, job, options).run();
}

}  // namespace partshift::verify
