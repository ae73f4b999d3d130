// job_records: pure rules of a job's rows and tables (see the header).
#include "partshift/migrate/job_records.hpp"

#include <algorithm>
#include <filesystem>

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/state/job_names.hpp"
#include "partshift/state/job_spec_codec.hpp"
#include "partshift/state/revert_window.hpp"

namespace partshift::migrate {

std::string member_job_name(const std::string& job, const catalog::qualified_name& table) {
    return job + "/" + table.schema + "." + table.name;
}

std::string serialized_spec(const plan::partition_spec& spec) {
    std::string bytes;
    state::to_proto(spec).SerializeToString(&bytes);
    return bytes;
}

namespace {

// old_name_for: where the original table goes at the swap: given, or NAME_old fitted.
std::string old_name_for(const std::string& given, const plan::target_plan& plan) {
    return given.empty() ? pg::fit_identifier(plan.final_name + "_old") : given;
}

// with_table: `rec` aimed at one table of the job: its source, target, names and spec.
state::job_record with_table(state::job_record rec, const plan::target_plan& plan,
                             const catalog::table_model& table, const std::string& old_name) {
    rec.source_schema = plan.source.schema;
    rec.source_table = plan.source.name;
    rec.target_schema = plan.target.schema;
    rec.target_table = plan.target.name;
    rec.final_name = plan.final_name;
    rec.old_name = old_name_for(old_name, plan);
    rec.spec = serialized_spec(plan.spec);
    rec.rows_estimate = table.row_estimate;
    return rec;
}

}  // namespace

std::vector<state::job_record> new_job_records(const run_options& options, const job_inputs& inputs,
                                               const std::string& database,
                                               const spool::spool_identity& identity) {
    state::job_record rec;
    rec.job = options.job;
    rec.publication_name = state::object_name(options.job);  // per database
    rec.slot_name = state::slot_name(database, options.job);
    // Named by cluster, database and job: the same job name on another server or database
    // sharing the root never lands here.
    rec.spool_dir =
        std::filesystem::absolute(
            std::filesystem::path(options.spool_root) /
            state::spool_dir_name(identity.system_identifier, identity.database_oid, options.job))
            .string();
    rec.phase = state::phase::preparing;
    if (!inputs.members.empty()) rec.group_job = rec.job;
    std::vector<state::job_record> out{
        with_table(rec, inputs.plan, inputs.table, options.old_name)};
    for (size_t i = 0; i < inputs.members.size(); ++i) {
        const auto& m = inputs.members[i];
        auto member = with_table(out.front(), m.plan, m.table, m.old_name);
        member.job = member_job_name(rec.job, m.table.name);
        member.group_position = static_cast<int>(i) + 1;
        out.push_back(std::move(member));
    }
    return out;
}

void check_same_job(const state::job_record& job, const job_inputs& inputs) {
    if (job.phase == state::phase::done)
        throw usage_error("job " + job.job + " is already done (cut over)");
    if (job.source_schema != inputs.table.name.schema || job.source_table != inputs.table.name.name)
        throw usage_error("job " + job.job + " migrates " + job.source_schema + "." +
                          job.source_table + ", not this table; pick another --job");
    if (job.spec != serialized_spec(inputs.plan.spec)) {
        proto::job_spec stored;
        stored.ParseFromString(job.spec);
        throw usage_error("job " + job.job + " was started with " +
                          state::describe_spec(state::from_proto(stored)) +
                          "; resume it with the same options, or run 'partshift abort' first");
    }
}

void check_same_target_name(const state::job_record& job,
                            const std::optional<std::string>& target_name) {
    if (!target_name || *target_name == job.target_table) return;
    throw usage_error("job " + job.job + " builds its partitioned table as " + job.target_schema +
                      "." + job.target_table + ", not " + *target_name +
                      "; resume it with --target-name " + job.target_table +
                      " (or without it), or run 'partshift abort' first");
}

std::string forget_job_sql(const std::string& job) {
    const auto name = pg::quote_literal(job);
    return "DELETE FROM partshift.jobs WHERE job = " + name + " OR reverse_of = " + name +
           " OR group_job = " + name;
}

void check_done_job_asked_again(const state::job_record& job, const catalog::qualified_name& table,
                                const plan::partition_spec& spec,
                                const std::optional<catalog::qualified_name>& kept) {
    const std::string done_table = job.source_schema + "." + job.final_name;
    const std::string way_out =
        "run with --job NEW (a name of its own), or forget the finished "
        "job first (" +
        forget_job_sql(job.job) + ")";
    if (job.source_schema != table.schema || job.source_table != table.name)
        throw usage_error("job " + job.job + " is done: it migrated " + job.source_schema + "." +
                          job.source_table + ", not " + table.schema + "." + table.name +
                          "; to migrate that table, " + way_out);
    if (job.spec != serialized_spec(spec)) {
        proto::job_spec stored;
        stored.ParseFromString(job.spec);
        throw usage_error("job " + job.job + " is done: it partitioned " + done_table + " with " +
                          state::describe_spec(state::from_proto(stored)) +
                          "; to partition it again with other options, " + way_out);
    }
    if (job.revert_state == std::string(state::revert_state::reverted))
        throw usage_error(
            "job " + job.job + " was cut over and then reverted: " + done_table +
            " is the original table again. To try again, " + way_out +
            (kept ? "; drop the partitioned table the revert kept first (DROP TABLE " +
                        pg::quote_ident(kept->schema) + "." + pg::quote_ident(kept->name) +
                        "): the new job names its partitions as that one's are named"
                  : std::string()));
}

void check_same_members(const state::job_record& job, const std::vector<state::job_record>& group,
                        const job_inputs& inputs) {
    std::vector<const state::job_record*> stored;
    for (const auto& r : group)
        if (r.is_group_member()) stored.push_back(&r);
    bool same = stored.size() == inputs.members.size();
    for (size_t i = 0; same && i < stored.size(); ++i) {
        const auto& m = inputs.members[i];
        same = stored[i]->source_schema == m.table.name.schema &&
               stored[i]->source_table == m.table.name.name &&
               stored[i]->spec == serialized_spec(m.plan.spec);
    }
    if (same) return;
    std::string listed = job.source_schema + "." + job.source_table;
    for (const auto* r : stored) listed += ", " + r->source_schema + "." + r->source_table;
    throw usage_error(
        "job " + job.job + " was started with " +
        (stored.empty() ? std::string("one table (") + listed + ")" : "the tables " + listed) +
        " and their options; resume it the same way (the same job file), or "
        "run 'partshift abort' first");
}

std::vector<table_ref> job_tables(const std::string& job, const job_inputs& inputs,
                                  const std::map<std::string, catalog::qualified_name>& stored) {
    auto target = [&](const std::string& row, const plan::target_plan& plan) {
        auto found = stored.find(row);
        return found != stored.end() ? found->second : plan.target;
    };
    std::vector<table_ref> out{{job, &inputs.table, &inputs.plan, target(job, inputs.plan)}};
    for (const auto& m : inputs.members) {
        auto row = member_job_name(job, m.table.name);
        out.push_back({row, &m.table, &m.plan, target(row, m.plan)});
    }
    return out;
}

std::vector<copy::index_to_build> indexes_to_build(const catalog::table_model& table,
                                                   const plan::target_plan& plan) {
    std::vector<copy::index_to_build> out;
    for (const auto& planned : plan.indexes) {
        copy::index_to_build index;
        index.name = planned.name;
        index.using_clause = planned.using_clause;
        index.is_primary = planned.is_primary;
        index.is_unique = planned.is_unique;
        if (planned.is_primary) {
            if (const auto* pk = table.primary_key()) index.key_columns = pk->key_columns;
            auto add = [&](const std::string& key) {
                if (std::find(index.key_columns.begin(), index.key_columns.end(), key) ==
                    index.key_columns.end())
                    index.key_columns.push_back(key);
            };
            add(plan.spec.level1.key);
            if (plan.spec.level2) add(plan.spec.level2->key);
        }
        out.push_back(std::move(index));
    }
    return out;
}

bool has_unique_indexes(const std::vector<table_ref>& tables) {
    for (const auto& t : tables)
        for (const auto& i : t.plan->indexes)
            if (i.is_unique && !i.is_primary) return true;
    return false;
}

}  // namespace partshift::migrate
