// apply::applier over two relations of one stream (multi-table jobs): "orders" and
// "order_items" (a foreign key to orders), one publication for both, each with a target
// partitioned by month on created_at. The changes come from a real logical slot, decoded by
// stream::decode_pgoutput, so relids, LSNs and the interleaving of the two tables inside a
// source transaction are what the server sends. Covers content in strict and idempotent mode
// with set-based apply, the source order across tables, one TRUNCATE of both, a resume from
// the shared checkpoint, and errors that name the table.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <limits>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "partshift/apply/applier.hpp"
#include "partshift/apply/vector_change_feed.hpp"
#include "partshift/catalog/inspector.hpp"
#include "partshift/error.hpp"
#include "partshift/state/job_names.hpp"
#include "partshift/state/schema.hpp"
#include "partshift/stream/pgoutput_decoder.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
namespace asio = boost::asio;

namespace {

std::string unhex(const std::string& hex) {
    std::string out;
    out.reserve(hex.size() / 2);
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

// Targets: one partition per month, January to June 2024 (the workload's dates and the
// partition moves stay inside).
std::string partitioned_target(const std::string& table, const std::string& columns) {
    std::string sql = "CREATE TABLE " + table + "_new (" + columns +
                      ", PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);";
    const char* months[] = {"01", "02", "03", "04", "05", "06", "07"};
    for (int m = 0; m < 6; ++m)
        sql += "CREATE TABLE " + table + "_m" + months[m] + " PARTITION OF " + table +
               "_new FOR VALUES FROM ('2024-" + months[m] + "-01') TO ('2024-" + months[m + 1] +
               "-01');";
    return sql;
}

// log_trigger_sql: an AFTER ROW trigger on `relation` writing `label` to `log` in firing order.
// On the targets it is ENABLE ALWAYS, so it fires under the applier's replica role too. It names
// its log table with the schema: the applier's session pins search_path to pg_catalog, pg_temp.
std::string log_trigger_sql(const std::string& relation, const std::string& label,
                            const std::string& log, bool always) {
    return "CREATE TRIGGER log_order AFTER INSERT OR UPDATE OR DELETE ON " + relation +
           " FOR EACH ROW EXECUTE FUNCTION log_change('" + log + "', '" + label + "');" +
           (always ? "ALTER TABLE " + relation + " ENABLE ALWAYS TRIGGER log_order;" : "");
}

struct multi_fixture {
    test_database db;
    catalog::table_model orders;
    catalog::table_model items;
    base::progress progress;
    apply::applier_options options;
    std::string slot;
    // The targets' partition column: a strict UPDATE looks for its row in the partition of
    // its new values first (off: by key alone).
    bool located_updates = true;
    int64_t last_rows_grouped = 0;

    multi_fixture() {
        static std::atomic<int> counter{0};
        slot = "partshift_multi_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
        const std::string order_columns =
            "id bigint NOT NULL, created_at date NOT NULL, amount numeric(12,2), note text";
        const std::string item_columns =
            "id bigint NOT NULL, order_id bigint NOT NULL, created_at date NOT NULL, qty int, "
            "sku text";
        db.exec(std::string(state::ensure_schema_sql) + "CREATE TABLE orders (" + order_columns +
                ", PRIMARY KEY (id));" + "CREATE TABLE order_items (" + item_columns +
                ", PRIMARY KEY (id), FOREIGN KEY (order_id) REFERENCES orders (id));" +
                partitioned_target("orders", order_columns) +
                partitioned_target("order_items", item_columns) +
                "CREATE PUBLICATION multi FOR TABLE orders, order_items;"
                // The job, and the member jobs the skipped keys of each table are kept under.
                "INSERT INTO partshift.jobs (job, source_schema, source_table, target_schema, "
                "target_table, final_name, old_name, slot_name, publication_name, spec, phase) "
                "VALUES ('m', 'public', 'orders', 'public', 'orders_new', 'orders', "
                "'orders_old', 's', 'multi', '', 'replay'), "
                "('m_orders', 'public', 'orders', 'public', 'orders_new', 'orders', "
                "'orders_old', 's', 'multi', '', 'replay'), "
                "('m_items', 'public', 'order_items', 'public', 'order_items_new', "
                "'order_items', 'order_items_old', 's', 'multi', '', 'replay');"
                "CREATE TABLE src_log (seq bigserial PRIMARY KEY, label text);"
                "CREATE TABLE dst_log (seq bigserial PRIMARY KEY, label text);"
                "CREATE FUNCTION log_change() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
                "EXECUTE format('INSERT INTO public.%I (label) VALUES ($1)', TG_ARGV[0]) "
                "USING TG_ARGV[1]; RETURN NULL; END$$;" +
                log_trigger_sql("orders", "orders", "src_log", false) +
                log_trigger_sql("order_items", "order_items", "src_log", false));
        auto conn = db.connect();
        orders = catalog::inspect_table(conn, {"public", "orders"});
        items = catalog::inspect_table(conn, {"public", "order_items"});
        options.dsn = db.dsn();
        options.job = "m";
        // The second ctest pass (CMakeLists.txt) applies with lanes.
        if (const char* lanes = std::getenv("PARTSHIFT_TEST_APPLY_WORKERS"))
            options.apply_workers = std::atoi(lanes);
        options.idempotent_until = 0;
        options.min_batch_age = std::chrono::milliseconds(0);
        // Small groups: a workload of a few hundred rows still makes several set statements.
        options.max_group_rows = 16;
    }

    std::vector<apply::relation_target> relations() const {
        std::vector<std::string> partition_columns;
        if (located_updates) partition_columns.push_back("created_at");
        return {{&orders, {"public", "orders_new"}, partition_columns, "m_orders"},
                {&items, {"public", "order_items_new"}, partition_columns, "m_items"}};
    }

    void create_slot() {
        db.connect().query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", slot);
    }

    // changes: every message the slot holds (peeked: a later call sees them again).
    std::vector<stream::message> changes() {
        auto conn = db.connect();
        auto r = conn.query(
            "SELECT encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes($1, NULL, "
            "NULL, 'proto_version', '1', 'publication_names', 'multi')",
            slot);
        std::vector<stream::message> out;
        for (int i = 0; i < r.rows(); ++i)
            out.push_back(stream::decode_pgoutput(std::string_view(unhex(r.get(i, 0))), false));
        return out;
    }

    // copy_targets: the snapshot copy, as of now.
    void copy_targets() {
        db.exec(
            "INSERT INTO orders_new SELECT * FROM orders;"
            "INSERT INTO order_items_new SELECT * FROM order_items");
    }

    // log_target_changes: from now on the targets log the changes applied to them, in order.
    void log_target_changes() {
        std::string sql;
        for (const char* table : {"orders", "order_items"})
            for (const char* month : {"01", "02", "03", "04", "05", "06"})
                sql += log_trigger_sql(std::string(table) + "_m" + month, table, "dst_log", true);
        db.exec(sql);
    }

    void apply(std::vector<stream::message> messages) {
        apply::vector_change_feed feed(std::move(messages));
        asio::io_context io;
        apply::applier a(relations(), options, state::fence_prefix(options.job), progress);
        auto done = asio::co_spawn(io, a.run(feed), asio::use_future);
        io.run();
        done.get();
        last_rows_grouped = a.rows_grouped();
    }

    std::string scalar(const std::string& sql) {
        auto r = db.connect().exec(sql);
        return r.opt(0, 0).value_or("null");
    }

    // expect_same_content: each target holds exactly its source's rows, every column.
    void expect_same_content() {
        auto conn = db.connect();
        auto o = fingerprint(conn, "orders");
        auto i = fingerprint(conn, "order_items");
        EXPECT_GT(o.rows, 0);
        EXPECT_GT(i.rows, 0);
        EXPECT_EQ(fingerprint(conn, "orders_new"), o);
        EXPECT_EQ(fingerprint(conn, "order_items_new"), i);
    }

    // table_runs: the labels of a change log, consecutive repeats collapsed: the order in
    // which the changes of the two tables alternate.
    std::vector<std::string> table_runs(const std::string& log) {
        auto r = db.connect().exec("SELECT label FROM " + log + " ORDER BY seq");
        std::vector<std::string> runs;
        for (int i = 0; i < r.rows(); ++i)
            if (runs.empty() || runs.back() != r.get(i, 0)) runs.push_back(r.get(i, 0));
        return runs;
    }
};

// initial_rows: 40 orders with 3 items each, spread over January and February.
constexpr const char* initial_rows =
    "INSERT INTO orders SELECT g, date '2024-01-01' + g, g * 10, 'order ' || g "
    "FROM generate_series(1, 40) g;"
    "INSERT INTO order_items SELECT o * 10 + k, o, date '2024-01-01' + o, k, 'sku-' || k "
    "FROM generate_series(1, 40) o, generate_series(1, 3) k;";

// interleaved_workload: source transactions that change both tables, in runs (set-based
// statements) and one row at a time in alternation, with partition moves and key changes of
// order_items. `base` keeps the keys of two calls apart.
std::string interleaved_workload(int base) {
    const std::string b = std::to_string(base);
    return
        // Runs: new orders, then their items, then updates of both.
        "BEGIN;"
        "INSERT INTO orders SELECT g, date '2024-01-01' + g % 50, g, 'new ' || g "
        "FROM generate_series(" +
        b + " + 1, " + b +
        " + 30) g;"
        "INSERT INTO order_items SELECT o * 10 + k, o, date '2024-01-01' + o % 50, k, 'n' "
        "FROM generate_series(" +
        b + " + 1, " + b +
        " + 30) o, generate_series(1, 2) k;"
        "UPDATE orders SET amount = amount + 1 WHERE id % 3 = 0;"
        "UPDATE order_items SET qty = qty * 2 WHERE order_id % 4 = 0;"
        "DELETE FROM order_items WHERE id % 7 = 0;"
        "COMMIT;"
        // One row at a time, alternating tables inside one transaction.
        "BEGIN;"
        "DO $$ DECLARE i int; BEGIN FOR i IN 1..12 LOOP "
        "  UPDATE orders SET note = note || '+' WHERE id = " +
        b +
        " + i; "
        "  INSERT INTO order_items VALUES ((" +
        b + " + i) * 10 + 5, " + b +
        " + i, date '2024-02-10', i, 'one'); "
        "  UPDATE order_items SET qty = -i WHERE id = (" +
        b +
        " + i) * 10 + 1; "
        "  DELETE FROM order_items WHERE id = (" +
        b +
        " + i) * 10 + 2; "
        "END LOOP; END $$;"
        "COMMIT;"
        // Partition moves and key changes of items, deletes of orders with their items.
        "BEGIN;"
        "UPDATE order_items SET created_at = created_at + 31 WHERE id % 11 = 0;"
        "UPDATE order_items SET id = id + 1000000 WHERE id % 13 = 0 AND id < 1000000;"
        "UPDATE orders SET created_at = created_at + 40 WHERE id % 17 = 0;"
        "DELETE FROM order_items WHERE order_id % 9 = 0;"
        "DELETE FROM orders WHERE id % 9 = 0;"
        "INSERT INTO orders VALUES (" +
        b +
        " + 99, '2024-03-03', 1, 'late');"
        "INSERT INTO order_items VALUES ((" +
        b + " + 99) * 10, " + b +
        " + 99, '2024-03-03', 1, 'late');"
        "COMMIT;";
}

// expect_error: applying fails with an error containing every one of `parts`.
void expect_error(multi_fixture& f, std::vector<stream::message> messages,
                  const std::vector<std::string>& parts) {
    try {
        f.apply(std::move(messages));
        ADD_FAILURE() << "expected an error";
    } catch (const partshift::runtime_error& e) {
        const std::string what = e.what();
        for (const auto& part : parts) EXPECT_NE(what.find(part), std::string::npos) << what;
    }
}

size_t count_commits(const std::vector<stream::message>& messages) {
    return static_cast<size_t>(std::count_if(
        messages.begin(), messages.end(),
        [](const stream::message& m) { return std::holds_alternative<stream::commit_msg>(m); }));
}

}  // namespace

// Strict mode from the start, set-based apply on: the targets are copied before the slot, and
// every change of both tables goes to the right target, in one batch with one checkpoint.
TEST(ApplyMulti, StrictInterleavedChangesReachTheirTargets) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    multi_fixture f;
    f.db.exec(initial_rows);
    f.copy_targets();
    f.create_slot();
    f.db.exec(interleaved_workload(100) + interleaved_workload(200));

    auto messages = f.changes();
    f.apply(messages);
    f.expect_same_content();
    EXPECT_GT(f.last_rows_grouped, 0) << "set-based apply was not used";
    EXPECT_TRUE(f.progress.strict_mode.load());
    EXPECT_GT(f.progress.updates_relocated.load(), 0) << "no row changed partition";
    // One checkpoint, the job's own; the member jobs carry none.
    EXPECT_EQ(f.scalar("SELECT applied_lsn::text FROM partshift.jobs WHERE job = 'm'"),
              stream::format_lsn(std::get<stream::commit_msg>(messages.back()).end_lsn));
    EXPECT_EQ(f.scalar("SELECT count(applied_lsn) FROM partshift.jobs WHERE job <> 'm'"), "0");
}

// The changes of the two tables alternate on the targets exactly as on the source (seen by
// ENABLE ALWAYS row triggers on both sides): a run of one table's rows is never applied
// before, or mixed into, a run of the other's, set-based statements included. Without the
// partition lookup: an UPDATE that finds its row moved partition runs its fallback at the
// next pipeline sync (still in the same target transaction), after statements on other rows.
TEST(ApplyMulti, StrictChangesAlternateBetweenTablesAsOnTheSource) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    multi_fixture f;
    f.located_updates = false;
    f.db.exec(initial_rows);
    f.copy_targets();
    f.db.exec("TRUNCATE src_log");
    f.log_target_changes();
    f.create_slot();
    f.db.exec(interleaved_workload(100) + interleaved_workload(200));

    f.apply(f.changes());
    f.expect_same_content();
    EXPECT_GT(f.last_rows_grouped, 0) << "set-based apply was not used";
    auto source_runs = f.table_runs("src_log");
    EXPECT_GT(source_runs.size(), 40u);
    // One lane applies in source order across tables; several keep only each key's order.
    if (f.options.apply_workers.value_or(1) == 1) EXPECT_EQ(f.table_runs("dst_log"), source_runs);
}

// The idempotent window over a snapshot copied after part of the stream (the target already
// holds later rows), then strict mode for what follows the window: both converge.
TEST(ApplyMulti, IdempotentWindowThenStrictConverges) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    multi_fixture f;
    f.db.exec(initial_rows);
    f.create_slot();
    f.db.exec(interleaved_workload(100));
    // Rows the copy found and the stream removes again before the window ends.
    f.db.exec(
        "BEGIN; DELETE FROM order_items WHERE order_id = 5; DELETE FROM orders WHERE id = 5; "
        "UPDATE order_items SET sku = 'window' WHERE order_id = 6; COMMIT;");
    f.copy_targets();
    f.options.idempotent_until = *stream::parse_lsn(f.scalar("SELECT pg_current_wal_lsn()"));
    f.db.exec(interleaved_workload(200));

    f.apply(f.changes());
    f.expect_same_content();
    EXPECT_TRUE(f.progress.strict_mode.load()) << "the transactions after the window are strict";
    EXPECT_GT(f.last_rows_grouped, 0);

    // All idempotent: the same stream again over a later copy.
    multi_fixture g;
    g.db.exec(initial_rows);
    g.create_slot();
    g.db.exec(interleaved_workload(100) + interleaved_workload(200));
    g.copy_targets();
    g.options.idempotent_until = std::numeric_limits<stream::lsn_t>::max();
    g.apply(g.changes());
    g.expect_same_content();
    EXPECT_FALSE(g.progress.strict_mode.load());
}

// One TRUNCATE of both tables (one message listing both relids), between changes of the same
// transaction: both targets are emptied, and the skipped keys of both member jobs forgotten.
TEST(ApplyMulti, OneTruncateOfBothTables) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    multi_fixture f;
    f.db.exec(initial_rows);
    f.copy_targets();
    f.db.exec(
        "INSERT INTO partshift.skipped_keys VALUES ('m_orders', '7:9999999'), "
        "('m_items', '7:9999999'), ('m', '7:9999999')");
    f.create_slot();
    f.db.exec(interleaved_workload(100) +
              "BEGIN;"
              "INSERT INTO orders SELECT g, '2024-01-09', g, 'x' FROM generate_series(500, 520) g;"
              "UPDATE order_items SET qty = 0 WHERE order_id < 10;"
              "TRUNCATE orders, order_items;"
              "INSERT INTO orders SELECT g, '2024-02-09', g, 'after' "
              "FROM generate_series(600, 630) g;"
              "INSERT INTO order_items SELECT g * 10, g, '2024-02-09', 1, 'after' "
              "FROM generate_series(600, 630) g;"
              "COMMIT;"
              "BEGIN; UPDATE orders SET note = 'later' WHERE id % 2 = 0; "
              "DELETE FROM order_items WHERE order_id % 3 = 0; COMMIT;");

    auto messages = f.changes();
    size_t truncates = 0;
    for (const auto& m : messages)
        if (const auto* t = std::get_if<stream::truncate_msg>(&m)) {
            ++truncates;
            EXPECT_EQ(t->relids.size(), 2u);
        }
    ASSERT_EQ(truncates, 1u) << "the server sends one TRUNCATE message for both tables";
    f.apply(std::move(messages));
    f.expect_same_content();
    EXPECT_EQ(f.scalar("SELECT count(*) FROM orders_new WHERE id < 600"), "0");
    EXPECT_EQ(f.scalar("SELECT string_agg(job, ',' ORDER BY job) FROM partshift.skipped_keys"), "m")
        << "only the skipped keys of the truncated tables' member jobs are forgotten";
}

// A run stopped inside a source transaction keeps what the shared checkpoint covers; the next
// run, fed the stream from its start again, skips exactly that and applies the rest (strict
// mode: a change applied twice stops it; one left out shows in the content).
TEST(ApplyMulti, ResumeContinuesFromTheSharedCheckpoint) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    multi_fixture f;
    f.db.exec(initial_rows);
    f.copy_targets();
    f.create_slot();
    f.db.exec(interleaved_workload(100) + interleaved_workload(200));
    f.options.max_batch_transactions = 1;

    auto messages = f.changes();
    const size_t commits = count_commits(messages);
    ASSERT_EQ(commits, 6u);
    // Cut in the middle of the fourth transaction, after changes of both tables in it.
    size_t seen = 0, cut = 0;
    stream::lsn_t third_end = 0;
    for (size_t i = 0; i < messages.size() && !cut; ++i) {
        if (const auto* c = std::get_if<stream::commit_msg>(&messages[i]))
            if (++seen == 3) {
                third_end = c->end_lsn;
                cut = i + 1 + 100;
            }
    }
    ASSERT_LT(cut, messages.size());
    ASSERT_EQ(count_commits({messages.begin(), messages.begin() + static_cast<long>(cut)}), 3u);
    f.apply({messages.begin(), messages.begin() + static_cast<long>(cut)});
    EXPECT_EQ(f.scalar("SELECT applied_lsn::text FROM partshift.jobs WHERE job = 'm'"),
              stream::format_lsn(third_end));
    EXPECT_EQ(f.progress.transactions_applied.load(), 3);

    base::progress second;
    {
        apply::vector_change_feed feed(messages);
        asio::io_context io;
        apply::applier a(f.relations(), f.options, state::fence_prefix(f.options.job), second);
        auto done = asio::co_spawn(io, a.run(feed), asio::use_future);
        io.run();
        done.get();
        EXPECT_EQ(a.applied_lsn(), std::get<stream::commit_msg>(messages.back()).end_lsn);
    }
    EXPECT_EQ(second.transactions_applied.load(), 3);
    f.expect_same_content();
    EXPECT_EQ(f.scalar("SELECT count(applied_lsn) FROM partshift.jobs WHERE job <> 'm'"), "0");
}

// A strict divergence on the second table names that table (and the key and transaction).
TEST(ApplyMulti, StrictDivergenceNamesTheTable) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    multi_fixture f;
    f.db.exec(initial_rows);
    f.copy_targets();
    f.db.exec("DELETE FROM order_items_new WHERE id = 72");
    f.create_slot();
    // Changes of orders first, then a run of order_items updates holding the missing row.
    f.db.exec(
        "BEGIN; UPDATE orders SET note = 'seen' WHERE id <= 8;"
        "UPDATE order_items SET qty = qty + 1 WHERE order_id BETWEEN 5 AND 9; COMMIT;");
    auto messages = f.changes();
    const auto commit_lsn = std::get<stream::commit_msg>(messages.back()).commit_lsn;
    expect_error(f, messages,
                 {"divergence", "(id)=(72)", "\"public\".\"order_items\"", "\"order_items_new\"",
                  stream::format_lsn(commit_lsn)});
    // Nothing of that transaction was kept.
    EXPECT_EQ(f.scalar("SELECT count(*) FROM orders_new WHERE note = 'seen'"), "0");
    EXPECT_EQ(f.scalar("SELECT applied_lsn IS NULL FROM partshift.jobs WHERE job = 'm'"), "t");

    // Row by row too (set-based apply off): the same names.
    f.options.set_based = false;
    expect_error(f, messages, {"divergence", "(id)=(72)", "\"public\".\"order_items\""});
}

// The Relation message check runs per relation: a column added to the second table during the
// job stops the apply with that table's name.
TEST(ApplyMulti, RelationChangeNamesTheTable) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    multi_fixture f;
    f.db.exec(initial_rows);
    f.copy_targets();
    f.create_slot();
    // Three transactions (one exec each: a multi-statement string is one transaction), each
    // committed on the target by itself.
    f.options.max_batch_transactions = 1;
    f.db.exec("UPDATE orders SET note = 'a' WHERE id = 1");
    f.db.exec("ALTER TABLE order_items ADD COLUMN extra int");
    f.db.exec("UPDATE order_items SET extra = 1 WHERE id = 11");
    expect_error(f, f.changes(),
                 {"source table \"public\".\"order_items\" changed during the job",
                  "new column \"extra\" (integer)", "run 'partshift abort --job "});
    EXPECT_EQ(f.scalar("SELECT note FROM orders_new WHERE id = 1"), "a")
        << "the orders change committed before";
}

// Changes of a relation the applier was not given are ignored, as before.
TEST(ApplyMulti, RelationsNotGivenAreIgnoredAndDuplicatesRefused) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    multi_fixture f;
    f.db.exec(initial_rows);
    f.copy_targets();
    f.create_slot();
    f.db.exec("UPDATE orders SET note = 'o' WHERE id = 2; UPDATE order_items SET sku = 'i'");
    // Only orders: its change is applied, order_items' changes are not.
    {
        apply::vector_change_feed feed(f.changes());
        asio::io_context io;
        apply::applier a(std::vector<apply::relation_target>{f.relations().front()}, f.options,
                         state::fence_prefix(f.options.job), f.progress);
        auto done = asio::co_spawn(io, a.run(feed), asio::use_future);
        io.run();
        done.get();
    }
    EXPECT_EQ(f.scalar("SELECT note FROM orders_new WHERE id = 2"), "o");
    EXPECT_EQ(f.scalar("SELECT count(*) FROM order_items_new WHERE sku = 'i'"), "0");

    auto twice = f.relations();
    twice.push_back(twice.front());
    twice.back().skipped_keys_job = "m";
    EXPECT_THROW(apply::applier(twice, f.options, "partshift.fence:m", f.progress), usage_error);
    auto shared = f.relations();
    shared[1].skipped_keys_job = "m_orders";
    EXPECT_THROW(apply::applier(shared, f.options, "partshift.fence:m", f.progress), usage_error);
    // The fence prefix is required: an empty one (no job's) is refused, not silently unmatched.
    EXPECT_THROW(apply::applier(f.relations(), f.options, "", f.progress), usage_error);
}
