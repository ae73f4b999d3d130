// chunk_planner: range arithmetic (pure) and the few catalog/data queries that feed it.
// Must not copy rows.
#include "partshift/copy/chunk_planner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <exception>

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::copy {
namespace {

using boost::asio::awaitable;

int64_t parse_int64(const std::string& text) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size())
        throw runtime_error("unexpected integer key value from the server: " + text);
    return value;
}

// "ARRAY[$3, $4]" for a bound, or NULL when unbounded; values stay parameters.
std::string array_param(const std::optional<key_value>& bound, pg::param_list& params) {
    if (!bound) return "NULL";
    std::string sql = "ARRAY[";
    for (size_t i = 0; i < bound->size(); ++i) {
        params.emplace_back((*bound)[i]);
        sql += (i ? ", $" : "$") + std::to_string(params.size()) + "::text";
    }
    return sql + "]";
}

awaitable<std::vector<chunk_bounds>> compute_ranges(pg::async_connection& conn,
                                                    const quoted_copy_spec& quoted,
                                                    const copy_spec& spec,
                                                    const chunk_options& options) {
    int64_t estimate = spec.row_estimate;
    if (estimate <= 0) {
        // Never analyzed (reltuples = -1): count once; sampling scans as much anyway.
        auto r = co_await conn.exec("SELECT count(*) FROM " + quoted.source);
        estimate = r.get_int(0, 0);
    }
    int64_t per_chunk = rows_per_chunk(estimate, spec.total_bytes, options);

    if (spec.key.size() == 1 && is_integer_type(spec.key[0].type_name)) {
        auto r = co_await conn.exec(min_max_sql(quoted));
        if (r.is_null(0, 0)) co_return std::vector<chunk_bounds>{chunk_bounds{}};  // empty table
        int64_t min = parse_int64(r.get(0, 0)), max = parse_int64(r.get(0, 1));
        if (auto ranges = dense_integer_ranges(min, max, estimate, per_chunk, options))
            co_return std::move(*ranges);
        spdlog::info("copy: key of {} is sparse ({} .. {} for ~{} rows); sampling boundaries",
                     quoted.source, min, max, estimate);
    }
    if (estimate <= per_chunk) co_return std::vector<chunk_bounds>{chunk_bounds{}};
    auto r = co_await conn.exec(boundary_sample_sql(quoted), pg::make_params(per_chunk));
    std::vector<key_value> boundaries;
    boundaries.reserve(r.rows());
    for (int row = 0; row < r.rows(); ++row) {
        key_value v;
        for (int col = 0; col < r.columns(); ++col) v.push_back(r.get(row, col));
        boundaries.push_back(std::move(v));
    }
    co_return ranges_from_boundaries(boundaries);
}

}  // namespace

int64_t rows_per_chunk(int64_t row_estimate, int64_t total_bytes, const chunk_options& options) {
    int64_t rows = std::max<int64_t>(1, options.target_rows);
    if (row_estimate > 0 && total_bytes > 0) {
        int64_t bytes_per_row = std::max<int64_t>(1, total_bytes / row_estimate);
        rows = std::min(rows, std::max<int64_t>(1, options.max_chunk_bytes / bytes_per_row));
    }
    return rows;
}

std::optional<std::vector<chunk_bounds>> dense_integer_ranges(int64_t min, int64_t max,
                                                              int64_t estimate, int64_t per_chunk,
                                                              const chunk_options& options) {
    __int128 span = static_cast<__int128>(max) - min + 1;
    if (span > static_cast<__int128>(std::max<int64_t>(estimate, 1)) * options.max_integer_sparsity)
        return std::nullopt;
    // Steps sized so that a dense key gives chunks of about per_chunk rows.
    __int128 chunks = std::max<int64_t>(
        1, (estimate + std::max<int64_t>(per_chunk, 1) - 1) / std::max<int64_t>(per_chunk, 1));
    auto step = static_cast<int64_t>(std::max<__int128>(1, (span + chunks - 1) / chunks));
    return integer_ranges(min, max, step);
}

std::vector<chunk_bounds> integer_ranges(int64_t min, int64_t max, int64_t step) {
    std::vector<key_value> boundaries;
    if (step < 1) step = 1;
    // __int128 so that min + k·step never overflows near the ends of bigint.
    for (__int128 b = static_cast<__int128>(min) + step; b <= max; b += step)
        boundaries.push_back({std::to_string(static_cast<int64_t>(b))});
    return ranges_from_boundaries(boundaries);
}

std::vector<chunk_bounds> ranges_from_boundaries(const std::vector<key_value>& boundaries) {
    std::vector<chunk_bounds> ranges;
    ranges.reserve(boundaries.size() + 1);
    std::optional<key_value> lower;
    for (const auto& b : boundaries) {
        if (lower && *lower == b) continue;  // a repeated boundary would give an empty range
        ranges.push_back({lower, b});
        lower = b;
    }
    ranges.push_back({lower, std::nullopt});
    return ranges;
}

std::vector<chunk> number_chunks(const std::vector<chunk_bounds>& ranges) {
    std::vector<chunk> chunks;
    chunks.reserve(ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i) {
        chunk c;
        c.id = static_cast<int>(i + 1);
        c.bounds = ranges[i];
        chunks.push_back(std::move(c));
    }
    return chunks;
}

quoted_copy_spec quote_spec(const copy_spec& spec) {
    quoted_copy_spec q;
    q.source =
        pg::escape_identifier(spec.source.schema) + "." + pg::escape_identifier(spec.source.name);
    q.target =
        pg::escape_identifier(spec.target.schema) + "." + pg::escape_identifier(spec.target.name);
    for (const auto& c : spec.columns) q.columns.push_back(pg::escape_identifier(c));
    for (const auto& k : spec.key) {
        q.key_columns.push_back(pg::escape_identifier(k.name));
        q.key_types.push_back(k.type_name);
    }
    return q;
}

awaitable<std::vector<chunk>> load_chunks(pg::async_connection& conn, const std::string& job,
                                          size_t key_columns) {
    std::string sql =
        "SELECT chunk_id, done, coalesce(rows, 0), coalesce(high_lsn::text, ''), "
        "lower_key IS NULL, upper_key IS NULL";
    for (const char* bound : {"lower_key", "upper_key"})
        for (size_t i = 1; i <= key_columns; ++i)
            sql += std::string(", ") + bound + "[" + std::to_string(i) + "]";
    sql += " FROM partshift.chunks WHERE job = $1 ORDER BY chunk_id";
    auto r = co_await conn.exec(sql, pg::make_params(job));
    std::vector<chunk> chunks;
    for (int row = 0; row < r.rows(); ++row) {
        chunk c;
        c.id = static_cast<int>(r.get_int(row, 0));
        c.done = r.get_bool(row, 1);
        c.rows = r.get_int(row, 2);
        c.high_lsn = r.get(row, 3);
        auto read_bound = [&](bool is_null, int first_col) -> std::optional<key_value> {
            if (is_null) return std::nullopt;
            key_value v;
            for (size_t i = 0; i < key_columns; ++i) {
                if (r.is_null(row, first_col + static_cast<int>(i)))
                    throw runtime_error("partshift.chunks row " + std::to_string(c.id) +
                                        " of job " + job + " has fewer key values than the key");
                v.push_back(r.get(row, first_col + static_cast<int>(i)));
            }
            return v;
        };
        c.bounds.lower = read_bound(r.get_bool(row, 4), 6);
        c.bounds.upper = read_bound(r.get_bool(row, 5), 6 + static_cast<int>(key_columns));
        chunks.push_back(std::move(c));
    }
    co_return chunks;
}

awaitable<std::vector<chunk>> plan_chunks(pg::async_connection& conn, const std::string& job,
                                          const copy_spec& spec, const chunk_options& options) {
    auto stored = co_await load_chunks(conn, job, spec.key.size());
    if (!stored.empty()) {
        spdlog::info("copy: job {} resumes with {} stored chunks", job, stored.size());
        co_return stored;
    }
    auto quoted = quote_spec(spec);
    auto chunks = number_chunks(co_await compute_ranges(conn, quoted, spec, options));

    // One transaction: a crash while planning leaves no partial chunk set behind.
    co_await conn.exec("BEGIN");
    std::exception_ptr failure;
    try {
        for (const auto& c : chunks) {
            pg::param_list params = pg::make_params(job, c.id);
            std::string lower = array_param(c.bounds.lower, params);
            std::string upper = array_param(c.bounds.upper, params);
            co_await conn.exec(
                "INSERT INTO partshift.chunks (job, chunk_id, lower_key, upper_key) "
                "VALUES ($1, $2::integer, " +
                    lower + ", " + upper + ")",
                std::move(params));
        }
        co_await conn.exec("COMMIT");
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        // co_await is not allowed inside a handler; roll back here so the caller's connection
        // stays usable, then report the original error.
        try {
            co_await conn.exec("ROLLBACK");
        } catch (...) {
        }
        std::rethrow_exception(failure);
    }
    spdlog::info("copy: planned {} chunks for {}", chunks.size(), quoted.source);
    co_return chunks;
}

}  // namespace partshift::copy
