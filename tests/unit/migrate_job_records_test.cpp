// Unit tests for migrate/job_records: the rows a new job inserts, the same-job and
// same-members checks of a resumed job, the job's tables, and which indexes are built when.
// No server.
#include <gtest/gtest.h>

#include "partshift/error.hpp"
#include "partshift/migrate/job_records.hpp"
#include "partshift/state/job_names.hpp"
#include "partshift/state/revert_window.hpp"

using namespace partshift;
using namespace partshift::migrate;

namespace {

plan::target_plan plan_for(const std::string& table, const std::string& key) {
    plan::target_plan p;
    p.source = {"public", table};
    p.target = {"public", table + "_new"};
    p.final_name = table;
    p.spec.level1.key = key;
    return p;
}

catalog::table_model table_named(const std::string& name, int64_t rows) {
    catalog::table_model t;
    t.name = {"public", name};
    t.row_estimate = rows;
    catalog::index pk;
    pk.name = name + "_pkey";
    pk.is_primary = true;
    pk.key_columns = {"id"};
    t.indexes.push_back(pk);
    return t;
}

job_inputs two_tables() {
    job_inputs in;
    in.table = table_named("orders", 100);
    in.plan = plan_for("orders", "created_at");
    member_inputs m;
    m.table = table_named("lines", 500);
    m.plan = plan_for("lines", "created_at");
    m.old_name = "lines_before";
    in.members.push_back(m);
    return in;
}

// A cluster and database as state::cluster_identity reads them.
const spool::spool_identity cluster{"7312345678901234567", "16384"};

run_options options_for(const std::string& job) {
    run_options o;
    o.job = job;
    o.spool_root = "/var/spool/partshift";
    return o;
}

}  // namespace

TEST(MigrateJobRecords, NewSingleTableJob) {
    job_inputs in;
    in.table = table_named("orders", 100);
    in.plan = plan_for("orders", "created_at");
    auto rows = new_job_records(options_for("j1"), in, "shop", cluster);
    ASSERT_EQ(rows.size(), 1u);
    const auto& r = rows[0];
    EXPECT_EQ(r.job, "j1");
    EXPECT_EQ(r.source_table, "orders");
    EXPECT_EQ(r.target_table, "orders_new");
    EXPECT_EQ(r.final_name, "orders");
    EXPECT_EQ(r.old_name, "orders_old");
    EXPECT_EQ(r.phase, std::string(state::phase::preparing));
    EXPECT_EQ(r.rows_estimate, 100);
    EXPECT_FALSE(r.group_job.has_value());
    EXPECT_EQ(r.spec, serialized_spec(in.plan.spec));
    // Named by cluster, database and job: one root may serve many servers (spool identity).
    EXPECT_EQ(r.spool_dir,
              "/var/spool/partshift/7312345678901234567-16384-" + state::object_name("j1"));
    EXPECT_NE(r.slot_name.find("j1"), std::string::npos);
}

TEST(MigrateJobRecords, NewMultiTableJobSharesSlotPublicationAndSpool) {
    auto in = two_tables();
    auto o = options_for("j2");
    o.old_name = "orders_before";
    auto rows = new_job_records(o, in, "shop", cluster);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].group_job, std::optional<std::string>("j2"));
    EXPECT_TRUE(rows[0].is_group_lead());
    EXPECT_EQ(rows[0].old_name, "orders_before");
    EXPECT_EQ(rows[1].job, "j2/public.lines");
    EXPECT_TRUE(rows[1].is_group_member());
    EXPECT_EQ(rows[1].group_position, 1);
    EXPECT_EQ(rows[1].slot_name, rows[0].slot_name);
    EXPECT_EQ(rows[1].publication_name, rows[0].publication_name);
    EXPECT_EQ(rows[1].spool_dir, rows[0].spool_dir);
    EXPECT_EQ(rows[1].source_table, "lines");
    EXPECT_EQ(rows[1].old_name, "lines_before");
    EXPECT_EQ(rows[1].rows_estimate, 500);
}

TEST(MigrateJobRecords, SameJobChecks) {
    auto in = two_tables();
    auto stored = new_job_records(options_for("j"), in, "db", cluster);
    EXPECT_NO_THROW(check_same_job(stored[0], in));
    auto done = stored[0];
    done.phase = state::phase::done;
    EXPECT_THROW(check_same_job(done, in), usage_error);
    auto other_table = stored[0];
    other_table.source_table = "payments";
    EXPECT_THROW(check_same_job(other_table, in), usage_error);
    auto other_spec = in;
    other_spec.plan.spec.level1.key = "id";
    try {
        check_same_job(stored[0], other_spec);
        ADD_FAILURE() << "a changed spec was accepted";
    } catch (const usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("resume it with the same options"), std::string::npos);
    }
}

TEST(MigrateJobRecords, SameMembersChecks) {
    auto in = two_tables();
    auto stored = new_job_records(options_for("j"), in, "db", cluster);
    EXPECT_NO_THROW(check_same_members(stored[0], stored, in));
    job_inputs alone = in;
    alone.members.clear();
    try {
        check_same_members(stored[0], stored, alone);
        ADD_FAILURE() << "a --table run of a multi-table job was accepted";
    } catch (const usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("the tables public.orders, public.lines"),
                  std::string::npos)
            << e.what();
    }
    auto single = new_job_records(options_for("j"), alone, "db", cluster);
    try {
        check_same_members(single[0], single, in);
        ADD_FAILURE() << "a job file adding a table was accepted";
    } catch (const usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("one table (public.orders)"), std::string::npos)
            << e.what();
    }
    auto changed = in;
    changed.members[0].plan.spec.level1.key = "id";
    EXPECT_THROW(check_same_members(stored[0], stored, changed), usage_error);
}

TEST(MigrateJobRecords, JobTablesPreferTheStoredTarget) {
    auto in = two_tables();
    std::map<std::string, catalog::qualified_name> stored{
        {"j/public.lines", {"archive", "lines_p"}}};
    auto tables = job_tables("j", in, stored);
    ASSERT_EQ(tables.size(), 2u);
    EXPECT_EQ(tables[0].job, "j");
    EXPECT_EQ(tables[0].target.name, "orders_new");
    EXPECT_EQ(tables[1].job, "j/public.lines");
    EXPECT_EQ(tables[1].target.schema, "archive");
    EXPECT_EQ(tables[1].target.name, "lines_p");
}

TEST(MigrateJobRecords, PrimaryKeyGetsThePartitionKeysAndUniqueIndexesWaitForFollow) {
    auto in = two_tables();
    in.plan.spec.level2 = plan::level_spec{};
    in.plan.spec.level2->key = "region";
    plan::planned_index pk;
    pk.name = "orders_new_pkey";
    pk.is_primary = pk.is_unique = true;
    plan::planned_index plain;
    plain.name = "orders_new_customer_idx";
    plain.using_clause = "USING btree (customer)";
    in.plan.indexes = {pk, plain};
    auto built = indexes_to_build(in.table, in.plan);
    ASSERT_EQ(built.size(), 2u);
    EXPECT_EQ(built[0].key_columns, (std::vector<std::string>{"id", "created_at", "region"}));
    EXPECT_TRUE(built[1].key_columns.empty());
    EXPECT_EQ(built[1].using_clause, "USING btree (customer)");
    EXPECT_FALSE(has_unique_indexes(job_tables("j", in, {})));
    plan::planned_index unique;
    unique.name = "lines_new_code_key";
    unique.is_unique = true;
    in.members[0].plan.indexes.push_back(unique);
    EXPECT_TRUE(has_unique_indexes(job_tables("j", in, {})));
}

// Issue 20 item 3: a finished job's name does not swallow another migration.
TEST(MigrateJobRecords, DoneJobAskedAgain) {
    job_inputs in;
    in.table = table_named("t3", 10);
    in.plan = plan_for("t3", "created_at");
    auto job = new_job_records(options_for("t3"), in, "shop", cluster).front();
    job.phase = state::phase::done;
    // The same table and options: "already done" stands.
    EXPECT_NO_THROW(check_done_job_asked_again(job, {"public", "t3"}, in.plan.spec, std::nullopt));
    // Another table with the same default job name.
    try {
        check_done_job_asked_again(job, {"other", "t3"}, in.plan.spec, std::nullopt);
        ADD_FAILURE() << "another table accepted";
    } catch (const usage_error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("job t3 is done: it migrated public.t3, not other.t3"), std::string::npos)
            << m;
        EXPECT_NE(m.find("--job NEW"), std::string::npos) << m;
        EXPECT_NE(m.find("DELETE FROM partshift.jobs WHERE job = 't3' OR reverse_of = 't3' OR "
                         "group_job = 't3'"),
                  std::string::npos)
            << m;
    }
    // Other options: re-partitioning a finished job's table.
    auto hash = in.plan.spec;
    hash.level1.method = plan::partition_method::hash;
    hash.level1.modulus = 4;
    EXPECT_THROW(check_done_job_asked_again(job, {"public", "t3"}, hash, std::nullopt),
                 usage_error);
    // Reverted: nothing to do under that name; the kept partitioned table is named.
    job.revert_state = state::revert_state::reverted;
    try {
        check_done_job_asked_again(job, {"public", "t3"}, in.plan.spec,
                                   catalog::qualified_name{"public", "t3_partitioned"});
        ADD_FAILURE() << "a reverted job accepted";
    } catch (const usage_error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("reverted"), std::string::npos) << m;
        EXPECT_NE(m.find("DROP TABLE public.t3_partitioned"), std::string::npos) << m;
    }
}

TEST(MigrateJobRecords, ResumedJobKeepsItsTargetName) {
    job_inputs in;
    in.table = table_named("orders", 10);
    in.plan = plan_for("orders", "created_at");
    const auto job = new_job_records(options_for("j1"), in, "shop", cluster).front();
    EXPECT_NO_THROW(check_same_target_name(job, std::nullopt));
    EXPECT_NO_THROW(check_same_target_name(job, std::string("orders_new")));
    EXPECT_THROW(check_same_target_name(job, std::string("orders_next")), usage_error);
}
