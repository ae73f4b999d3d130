// index_builder: per-partition index builds in parallel, attached bottom-up to ONLY-parent
// indexes. Must not touch the source table.
#include "partshift/copy/index_builder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <exception>
#include <functional>
#include <future>
#include <map>

#include "partshift/error.hpp"
#include "partshift/pg/async_connection.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::copy {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using namespace std::chrono_literals;

// With options.concurrently, how long a catalog-only step (CREATE INDEX ON ONLY, ATTACH) waits
// for its lock before it lets the writers queued behind it through and tries again.
constexpr const char* catalog_lock_timeout = "500ms";

// partition_node: one relation of the target's partition tree.
struct partition_node {
    std::string oid;
    std::string parent_oid;  // "" for the root
    bool leaf = false;
    int level = 0;
    std::string schema;
    std::string name;
};

// leaf_build: one index on one leaf partition, the unit of parallel work.
struct leaf_build {
    const index_to_build* index = nullptr;
    const partition_node* leaf = nullptr;
    std::string index_name;
    bool drop_invalid_first = false;
};

struct build_run {
    build_run(asio::any_io_executor ex, const std::atomic<bool>& stop_flag)
        : stop(stop_flag), all_done(std::move(ex), asio::steady_timer::time_point::max()) {}
    const std::atomic<bool>& stop;
    std::string dsn;
    index_build_options options;
    std::vector<leaf_build> tasks;
    size_t next = 0;
    int running = 0;   // worker sessions still open
    int building = 0;  // leaf builds in flight
    // Each worker's connection while its coroutine runs (index = worker id), for cancelling.
    std::vector<pg::async_connection*> connections;
    std::exception_ptr failure;
    asio::steady_timer all_done;
    bool halted() const { return failure || stop.load(std::memory_order_relaxed); }
};

std::string join_quoted(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + pg::escape_identifier(n);
    return out;
}

std::string using_clause(const index_to_build& index) {
    std::string clause = index.using_clause.empty() ? using_clause_of(index.create_on_parent_sql)
                                                    : index.using_clause;
    if (clause.empty())
        throw usage_error("index " + index.name + " has no USING clause to build it on partitions");
    return clause;
}

// The statement that builds `index` on one relation; `only` for partitioned tables (the index
// then stays invalid until every partition's index is attached). `concurrently` applies to
// leaves only: partitioned tables do not take it, and their ONLY index is catalog-only anyway.
std::string build_sql(const index_to_build& index, const partition_node& node,
                      const std::string& index_name, bool root, bool concurrently = false) {
    std::string table = pg::escape_qualified(node.schema, node.name);
    std::string only = node.leaf ? "" : "ONLY ";
    if (index.is_primary) {
        if (index.key_columns.empty())
            throw usage_error("primary key " + index.name + " has no key columns");
        return "ALTER TABLE " + only + table + " ADD CONSTRAINT " +
               pg::escape_identifier(index_name) + " PRIMARY KEY (" +
               join_quoted(index.key_columns) + ")";
    }
    if (root && !index.create_on_parent_sql.empty()) return index.create_on_parent_sql;
    return std::string(index.is_unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") +
           (concurrently && node.leaf ? "CONCURRENTLY " : "") + pg::escape_identifier(index_name) +
           " ON " + only + table + " " + using_clause(index);
}

std::string drop_sql(const std::string& qualified_index, bool concurrently) {
    return std::string("DROP INDEX ") + (concurrently ? "CONCURRENTLY " : "") + "IF EXISTS " +
           qualified_index;
}

// exec_catalog_step runs a brief catalog-only statement (CREATE INDEX ON ONLY, ATTACH). With
// `concurrently` the connection has a lock_timeout: on timeout the statement is retried with
// backoff, so the target's writers never wait behind it for long. False when `stop` was raised
// meanwhile.
awaitable<bool> exec_catalog_step(pg::async_connection& conn, const std::string& sql,
                                  bool concurrently, const std::atomic<bool>& stop) {
    auto backoff = std::chrono::milliseconds(100);
    for (int attempt = 1;; ++attempt) {
        try {
            auto run = conn.exec(sql);
            co_await std::move(run);
            co_return true;
        } catch (const pg::pg_error& e) {
            if (!concurrently || e.sqlstate() != pg::sqlstate::lock_not_available) throw;
        }
        if (stop.load()) co_return false;
        if (attempt % 10 == 0)
            spdlog::warn("index: still waiting for a lock after {} attempts: {}", attempt, sql);
        asio::steady_timer wait(co_await asio::this_coro::executor, backoff);
        co_await wait.async_wait(asio::use_awaitable);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    }
}

struct index_state {
    bool exists = false;
    bool valid = false;
    std::string table_oid;
};

awaitable<index_state> read_index_state(pg::async_connection& conn, const std::string& schema,
                                        const std::string& name) {
    auto r = co_await conn.exec(
        "SELECT i.indisvalid, i.indrelid::oid::text FROM pg_class c JOIN pg_namespace n ON "
        "n.oid = c.relnamespace JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE n.nspname = $1 AND c.relname = $2",
        pg::make_params(schema, name));
    if (r.rows() == 0) co_return index_state{};
    co_return index_state{true, r.get_bool(0, 0), r.get(0, 1)};
}

awaitable<std::vector<partition_node>> read_partition_tree(pg::async_connection& conn,
                                                           const catalog::qualified_name& target) {
    auto r = co_await conn.exec(
        "SELECT t.relid::oid::text, coalesce(t.parentrelid::oid::text, ''), t.isleaf, t.level, "
        "n.nspname, c.relname FROM pg_partition_tree($1::regclass) t "
        "JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "ORDER BY t.level, c.relname",
        pg::make_params(pg::escape_qualified(target.schema, target.name)));
    std::vector<partition_node> nodes;
    for (int i = 0; i < r.rows(); ++i)
        nodes.push_back({r.get(i, 0), r.get(i, 1), r.get_bool(i, 2),
                         static_cast<int>(r.get_int(i, 3)), r.get(i, 4), r.get(i, 5)});
    if (nodes.empty() || nodes.front().leaf)
        throw usage_error("target " + target.schema + "." + target.name +
                          " is not a partitioned table");
    co_return nodes;
}

// published_connection makes a worker's connection reachable for a cancel while it lives.
struct published_connection {
    published_connection(build_run& r, int id, pg::async_connection& conn) : run(r), worker(id) {
        run.connections[worker] = &conn;
    }
    ~published_connection() { run.connections[worker] = nullptr; }
    published_connection(const published_connection&) = delete;
    published_connection& operator=(const published_connection&) = delete;
    build_run& run;
    int worker;
};

// wait_for_gate: before a leaf build, the copy's throttles (index_build_options::gate): wait
// while the copy is throttled or paused, then pace the build by its partition's rows under a
// --max-copy-rate ceiling. False when the run halted meanwhile.
awaitable<bool> wait_for_gate(build_run& run, pg::async_connection& conn,
                              const partition_node& leaf) {
    auto& gate = *run.options.gate;
    const std::function<bool()> halted = [&run] { return run.halted(); };
    co_await gate.wait_open(halted);
    if (run.halted()) co_return false;
    if (!gate.has_ceiling()) co_return true;
    auto read = conn.exec(
        "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples ELSE "
        "pg_catalog.pg_relation_size(c.oid) / $2::float8 END::bigint "
        "FROM pg_catalog.pg_class c WHERE c.oid = $1::oid",
        pg::make_params(leaf.oid, std::to_string(std::max(1.0, run.options.bytes_per_row))));
    auto rows = co_await std::move(read);
    if (rows.rows() == 1) co_await gate.pace(rows.get_int(0, 0), halted);
    co_return !run.halted();
}

awaitable<void> run_builder(build_run& run, int worker_id) {
    const bool concurrently = run.options.concurrently;
    auto conn = co_await pg::async_connection::connect(
        run.dsn, run.options.application_name + "-" + std::to_string(worker_id));
    published_connection published(run, worker_id, conn);
    if (!run.options.maintenance_work_mem.empty())
        co_await conn.exec("SELECT set_config('maintenance_work_mem', $1, false)",
                           pg::make_params(run.options.maintenance_work_mem));
    // If partshift dies (kill -9), the server abandons the CONCURRENTLY build instead of
    // finishing it unseen; the next run drops the invalid leftover and builds it again.
    if (concurrently) {
        auto set = conn.exec("SET client_connection_check_interval = '1s'");
        co_await std::move(set);
    }
    // The server's own parallel index build would add up to this many processes to each of
    // ours (server_build_helpers).
    auto show = conn.exec("SHOW max_parallel_maintenance_workers");
    auto shown = co_await std::move(show);
    const int server_helpers = static_cast<int>(shown.get_int(0, 0));
    int helpers_set = server_helpers;
    while (!run.halted() && run.next < run.tasks.size()) {
        const leaf_build& task = run.tasks[run.next++];
        const std::string index = pg::escape_qualified(task.leaf->schema, task.index_name);
        std::exception_ptr failure;
        bool cancelled_by_stop = false;
        ++run.building;
        try {
            const int helpers =
                server_build_helpers(run.options.workers, run.building, server_helpers);
            if (helpers != helpers_set) {
                auto set =
                    conn.exec("SET max_parallel_maintenance_workers = " + std::to_string(helpers));
                co_await std::move(set);
                helpers_set = helpers;
            }
            if (run.options.gate) {
                // Named (GCC 12 and temporaries in a co_await).
                auto wait = wait_for_gate(run, conn, *task.leaf);
                const bool go = co_await std::move(wait);
                if (!go) {
                    --run.building;
                    co_return;
                }
            }
            if (task.drop_invalid_first) {
                auto drop = conn.exec(drop_sql(index, concurrently));
                co_await std::move(drop);
            }
            auto build =
                conn.exec(build_sql(*task.index, *task.leaf, task.index_name, false, concurrently));
            co_await std::move(build);
            --run.building;
            if (run.options.progress) ++run.options.progress->index_builds_done;
            continue;
        } catch (const pg::pg_error& e) {
            failure = std::current_exception();
            if (e.sqlstate() == "23505")  // unique_violation
                failure = std::make_exception_ptr(pg::pg_error(
                    std::string(e.what()) + "; the target's rows diverged from the source's",
                    e.sqlstate()));
            cancelled_by_stop = run.stop.load() && e.sqlstate() == pg::sqlstate::query_canceled;
        } catch (...) {
            failure = std::current_exception();
        }
        --run.building;
        if (concurrently && !cancelled_by_stop) {
            // A failed CONCURRENTLY build leaves an INVALID index that writes still maintain
            // (and a unique one still enforces): drop it now rather than leave it to a rerun.
            // Not on a stop: the drop waits for the table's open transactions as the build
            // did, and the rerun drops it anyway.
            try {
                auto drop = conn.exec(drop_sql(index, true));
                co_await std::move(drop);
            } catch (const std::exception& e) {
                spdlog::warn("index: could not drop the invalid {} (the next run will): {}", index,
                             e.what());
            }
        }
        if (!cancelled_by_stop && !run.failure)
            run.failure =
                pg::with_context("building index " + task.index->name + " on partition " +
                                     task.leaf->schema + "." + task.leaf->name + " failed: ",
                                 failure);
        co_return;
    }
}

// tree_build: one build_selected call: its control session, the target's partition tree,
// the leaf builds for the workers, and each index's name on every node (to attach afterwards).
// Stays where it was made: the queued builds and by_oid point into `nodes`.
struct tree_build {
    tree_build(asio::any_io_executor ex, const std::atomic<bool>& stop,
               pg::async_connection& control_session, catalog::qualified_name target_table,
               std::vector<partition_node> tree)
        : control(control_session),
          target(std::move(target_table)),
          nodes(std::move(tree)),
          run(std::move(ex), stop) {
        for (const auto& n : nodes) by_oid[n.oid] = &n;
    }
    tree_build(const tree_build&) = delete;
    tree_build& operator=(const tree_build&) = delete;

    pg::async_connection& control;
    const catalog::qualified_name target;
    const std::vector<partition_node> nodes;
    std::map<std::string, const partition_node*> by_oid;
    build_run run;
    std::vector<std::pair<const index_to_build*, std::map<std::string, std::string>>> names;
};

// create_only_index: the ONLY index of a partitioned node, catalog-only (created empty and
// invalid until every partition's index is attached). False when stopped while waiting for
// its lock; a failure names the index and the node.
awaitable<bool> create_only_index(tree_build& b, const index_to_build& index,
                                  const partition_node& node, const std::string& name, bool root) {
    std::exception_ptr failure;
    bool created = false;
    try {
        std::string sql = build_sql(index, node, name, root);
        auto create = exec_catalog_step(b.control, sql, b.run.options.concurrently, b.run.stop);
        created = co_await std::move(create);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure)
        std::rethrow_exception(pg::with_context(
            "creating index " + index.name + " on " + node.schema + "." + node.name + " failed: ",
            failure));
    co_return created;
}

// plan_index: the index's name on every node of the tree, the missing ONLY indexes of the
// partitioned nodes created, the missing or invalid leaf indexes queued for the workers. An
// index valid on the target already is skipped. False when stopped while waiting for a lock.
awaitable<bool> plan_index(tree_build& b, const index_to_build& index) {
    auto root_state = co_await read_index_state(b.control, b.target.schema, index.name);
    if (root_state.exists && root_state.valid) {
        spdlog::info("index: {} exists and is valid; skipped", index.name);
        co_return true;
    }
    std::map<std::string, std::string> node_names;
    for (const auto& node : b.nodes) {
        bool root = node.parent_oid.empty();
        std::string name =
            root ? index.name : child_index_name(node.name, index.name, index.is_primary);
        node_names[node.oid] = name;
        auto state = co_await read_index_state(b.control, node.schema, name);
        if (state.exists && state.table_oid != node.oid)
            throw runtime_error("cannot build index " + index.name + ": the name " + name +
                                " is taken by an index of another table");
        if (!node.leaf) {
            if (!state.exists) {
                const bool created = co_await create_only_index(b, index, node, name, root);
                if (!created) co_return false;
            }
        } else if (!state.exists || !state.valid) {
            b.run.tasks.push_back({&index, &node, name, state.exists});
        }
    }
    b.names.emplace_back(&index, std::move(node_names));
    co_return true;
}

// build_leaves: the queued leaf builds, on up to options.workers sessions in parallel.
// Rethrows the first failure.
awaitable<void> build_leaves(tree_build& b) {
    auto& run = b.run;
    const auto& options = run.options;
    // Largest leaves would ideally go first; key order is good enough while partitions are of
    // similar size.
    int workers = std::max(1, std::min<int>(options.workers, static_cast<int>(run.tasks.size())));
    if (!run.tasks.empty()) {
        spdlog::info("index: {} partition index builds{}, {} workers", run.tasks.size(),
                     options.concurrently ? " (concurrently)" : "", workers);
        if (options.progress)
            options.progress->index_builds_total += static_cast<int64_t>(run.tasks.size());
        run.running = workers;
        run.connections.assign(workers + 1, nullptr);
        auto ex = co_await asio::this_coro::executor;
        for (int w = 1; w <= workers; ++w)
            asio::co_spawn(ex, run_builder(run, w), [&run, w](std::exception_ptr e) {
                if (e && !run.failure)
                    run.failure = pg::with_context(
                        "index build worker " + std::to_string(w) + " failed: ", e);
                if (--run.running == 0) run.all_done.cancel();
            });
        // Woken early when the last worker ends; otherwise a look at `stop` every 200 ms. A
        // CONCURRENTLY build may take long, and the target's writers do not need it to end:
        // a stop cancels it (a rerun drops the invalid leftover and builds it again).
        // Polled because the stop reaches copy/ as a plain flag (copy/ does not know the task
        // group, whose on_stop could wake this): nothing to wait on; 200 ms bounds the cancel.
        bool cancelled = false;
        while (run.running > 0) {
            boost::system::error_code ignored;
            run.all_done.expires_after(200ms);
            co_await run.all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
            if (options.concurrently && run.stop.load() && !cancelled) {
                for (auto* conn : run.connections)
                    if (conn) conn->cancel();
                cancelled = true;
            }
        }
    }
    if (run.failure) std::rethrow_exception(run.failure);
}

// attach_all: every index's partition indexes attached bottom-up, so each intermediate index
// is complete (and valid) before it is attached to its own parent's index; then the index on
// the target must be valid. Resumable: a stop here (false) leaves attachments a rerun
// completes.
awaitable<bool> attach_all(tree_build& b) {
    std::vector<const partition_node*> children;
    for (const auto& n : b.nodes)
        if (!n.parent_oid.empty()) children.push_back(&n);
    std::stable_sort(children.begin(), children.end(),
                     [](auto* x, auto* y) { return x->level > y->level; });
    for (const auto& [index, node_names] : b.names) {
        for (const auto* child : children) {
            const partition_node* parent = b.by_oid.at(child->parent_oid);
            std::string child_index =
                pg::escape_qualified(child->schema, node_names.at(child->oid));
            std::string parent_index =
                pg::escape_qualified(parent->schema, node_names.at(parent->oid));
            auto attached = co_await b.control.exec(
                "SELECT count(*) FROM pg_inherits WHERE inhrelid = $1::regclass AND "
                "inhparent = $2::regclass",
                pg::make_params(child_index, parent_index));
            if (attached.get_int(0, 0) != 0) continue;
            std::string sql = "ALTER INDEX " + parent_index + " ATTACH PARTITION " + child_index;
            auto attach = exec_catalog_step(b.control, sql, b.run.options.concurrently, b.run.stop);
            const bool done = co_await std::move(attach);
            if (!done) co_return false;
        }
        auto state = co_await read_index_state(b.control, b.target.schema, index->name);
        if (!state.valid)
            throw runtime_error("index " + index->name + " on " + b.target.schema + "." +
                                b.target.name +
                                " is still invalid after attaching every partition");
        spdlog::info("index: {} built on {} partitions", index->name, children.size());
    }
    co_return true;
}

// build_selected: the selected indexes on the target: the ONLY indexes of the partitioned
// nodes, the leaf builds in parallel, then the attachments bottom-up. False when stopped.
awaitable<bool> build_selected(std::string dsn, catalog::qualified_name target,
                               std::vector<index_to_build> indexes, index_build_options options,
                               const std::atomic<bool>& stop,
                               std::function<bool(const index_to_build&)> selected) {
    auto ex = co_await asio::this_coro::executor;
    auto control = co_await pg::async_connection::connect(dsn, options.application_name);
    if (options.concurrently) {
        auto set = control.exec(std::string("SET lock_timeout = '") + catalog_lock_timeout + "'");
        co_await std::move(set);
    }
    auto nodes = co_await read_partition_tree(control, target);
    tree_build b(ex, stop, control, std::move(target), std::move(nodes));
    b.run.dsn = dsn;
    b.run.options = options;
    for (const auto& index : indexes) {
        if (!selected(index)) continue;
        const bool planned = co_await plan_index(b, index);
        if (!planned) co_return false;  // stopped while waiting for a lock
    }
    co_await build_leaves(b);
    if (stop.load()) co_return false;
    const bool attached = co_await attach_all(b);
    co_return attached;
}

}  // namespace

awaitable<bool> build_indexes(std::string dsn, catalog::qualified_name target,
                              std::vector<index_to_build> indexes, index_build_options options,
                              const std::atomic<bool>& stop) {
    // GCC 12 mis-destroys prvalue arguments inside a co_await expression: build the
    // awaitable in its own statement.
    std::function<bool(const index_to_build&)> select = [](const index_to_build& i) {
        return i.is_primary || !i.is_unique;
    };
    auto build = build_selected(std::move(dsn), std::move(target), std::move(indexes),
                                std::move(options), stop, std::move(select));
    co_return co_await std::move(build);
}

awaitable<bool> build_unique_indexes(std::string dsn, catalog::qualified_name target,
                                     std::vector<index_to_build> indexes,
                                     index_build_options options, const std::atomic<bool>& stop) {
    // GCC 12 mis-destroys prvalue arguments inside a co_await expression: build the
    // awaitable in its own statement.
    std::function<bool(const index_to_build&)> select = [](const index_to_build& i) {
        return i.is_unique && !i.is_primary;
    };
    options.concurrently = true;  // the applier writes to the target meanwhile
    auto build = build_selected(std::move(dsn), std::move(target), std::move(indexes),
                                std::move(options), stop, std::move(select));
    co_return co_await std::move(build);
}

bool build_indexes_blocking(const std::string& dsn, const catalog::qualified_name& target,
                            const std::vector<index_to_build>& indexes,
                            const index_build_options& options, const std::atomic<bool>& stop,
                            bool unique_only) {
    asio::io_context io;
    std::promise<bool> promise;
    auto future = promise.get_future();
    auto body = unique_only ? build_unique_indexes(dsn, target, indexes, options, stop)
                            : build_indexes(dsn, target, indexes, options, stop);
    asio::co_spawn(io, std::move(body), [&](std::exception_ptr e, bool done) {
        if (e)
            promise.set_exception(e);
        else
            promise.set_value(done);
    });
    io.run();
    return future.get();
}

index_to_build index_from_model(const catalog::index& source_index, std::string target_name,
                                std::vector<std::string> target_key_columns) {
    index_to_build out;
    out.name = std::move(target_name);
    out.using_clause = source_index.using_clause;
    out.is_primary = source_index.is_primary;
    out.is_unique = source_index.is_unique;
    out.key_columns =
        target_key_columns.empty() ? source_index.key_columns : std::move(target_key_columns);
    return out;
}

std::string child_index_name(std::string_view relation, std::string_view index_name,
                             bool is_primary) {
    std::string name =
        std::string(relation) + "_" + (is_primary ? "pkey" : std::string(index_name));
    // Kept ending in '_' at the cut (the indexes a rerun finds were named so).
    return pg::fit_identifier(name, false);
}

int server_build_helpers(int workers, int builds_in_flight, int server_setting) {
    return std::clamp(workers - builds_in_flight, 0, std::max(0, server_setting));
}

std::string using_clause_of(std::string_view create_index_sql) {
    size_t on = create_index_sql.find(" ON ");
    if (on == std::string_view::npos) return "";
    size_t pos = create_index_sql.find(" USING ", on);
    if (pos == std::string_view::npos) return "";
    return std::string(create_index_sql.substr(pos + 1));
}

}  // namespace partshift::copy
