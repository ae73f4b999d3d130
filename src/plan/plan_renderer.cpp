// plan_renderer: SQL script, statement list and JSON for a target_plan (see the header). Must
// only format what the planner decided; anything it prints comes from the plan or the checks.
#include "partshift/plan/plan_renderer.hpp"

#include <google/protobuf/util/json_util.h>

#include "partshift/catalog/table_name.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "plan.pb.h"

namespace partshift::plan {
namespace {

// one_line keeps a message inside its "--" comment: a table or value name containing a line
// break must not be able to start a statement of its own.
std::string one_line(const std::string& text) {
    std::string out = text;
    for (char& c : out)
        if (c == '\n' || c == '\r') c = ' ';
    return out;
}

std::string describe_level(const level_spec& l) {
    std::string s = std::string(method_name(l.method)) + " (" + l.key + ")";
    if (l.interval) s += " interval " + *l.interval;
    if (l.step) s += " step " + *l.step;
    if (l.method == partition_method::hash) s += " modulus " + std::to_string(l.modulus);
    if (!l.values.empty()) s += " " + std::to_string(l.values.size()) + " values";
    return s;
}

void fill_level(proto::partition_level& out, const level_spec& l) {
    out.set_method(method_name(l.method));
    out.set_key(l.key);
    if (l.interval) out.set_interval(*l.interval);
    if (l.step) out.set_step(*l.step);
    for (const auto& v : l.values) out.add_values(v);
    out.set_modulus(l.modulus);
}

}  // namespace

std::vector<std::string> sql_statements(const target_plan& plan, bool with_indexes) {
    std::vector<std::string> out;
    out.push_back(plan.create_table_sql);
    for (const auto& p : plan.partitions) out.push_back(p.create_sql);
    for (const auto& s : plan.constraint_sql) out.push_back(s);
    if (with_indexes) {
        for (const auto& i : plan.indexes) {
            out.push_back(i.create_sql);
            if (!i.comment_sql.empty()) out.push_back(i.comment_sql);
        }
    }
    return out;
}

std::string render_sql(const target_plan& plan, const std::vector<preflight_check>& checks,
                       const std::optional<size_estimate>& estimate) {
    std::string s;
    s += "-- partshift plan: " + one_line(plan.source.schema + "." + plan.source.name) + " -> " +
         one_line(plan.target.schema + "." + plan.target.name) + " (named " +
         one_line(plan.final_name) + " after cutover)\n";
    s += "-- partition by " + one_line(describe_level(plan.spec.level1));
    if (plan.spec.level2) s += ", then by " + one_line(describe_level(*plan.spec.level2));
    s += "\n-- " + std::to_string(plan.partitions.size()) + " partitions, " +
         std::to_string(plan.indexes.size()) + " indexes\n";
    for (const auto& c : checks)
        s += std::string(c.ok      ? "-- preflight ok: "
                         : c.fatal ? "-- PREFLIGHT FAILED: "
                                   : "-- preflight warning: ") +
             one_line(c.name) + ": " + one_line(c.message) + "\n";
    for (const auto& w : plan.warnings) s += "-- WARNING: " + one_line(w) + "\n";
    for (const auto& n : plan.notes) s += "-- NOTE: " + one_line(n) + "\n";
    if (estimate)
        for (const auto& line : estimate->lines) s += "-- ESTIMATE: " + one_line(line) + "\n";
    s += "\nBEGIN;\n\n";
    for (const auto& stmt : sql_statements(plan)) s += stmt + ";\n";
    s += "\nCOMMIT;\n";
    return s;
}

namespace {

proto::target_plan to_message(const target_plan& plan, const std::vector<preflight_check>& checks,
                              const std::optional<size_estimate>& estimate = std::nullopt) {
    proto::target_plan m;
    m.mutable_source()->set_schema(plan.source.schema);
    m.mutable_source()->set_name(plan.source.name);
    m.mutable_target()->set_schema(plan.target.schema);
    m.mutable_target()->set_name(plan.target.name);
    m.set_final_name(plan.final_name);
    fill_level(*m.mutable_spec()->mutable_level1(), plan.spec.level1);
    if (plan.spec.level2) fill_level(*m.mutable_spec()->mutable_level2(), *plan.spec.level2);
    m.mutable_spec()->set_premake(plan.spec.premake);
    m.mutable_spec()->set_default_partition(
        plan.spec.default_partition ? (*plan.spec.default_partition ? "yes" : "no") : "auto");
    for (const auto& p : plan.partitions) {
        auto* out = m.add_partitions();
        out->set_name(p.name);
        out->set_bound(p.bound_sql);
        out->set_parent(p.parent.value_or(plan.target.name));
        out->set_is_partitioned(p.is_partitioned);
        out->set_partition_by(p.partition_by_sql);
    }
    for (const auto& i : plan.indexes) {
        auto* out = m.add_indexes();
        out->set_name(i.name);
        out->set_source_index(i.source_index);
        out->set_is_primary(i.is_primary);
        out->set_is_unique(i.is_unique);
        out->set_extended_with_partition_key(i.extended_with_partition_key);
        out->set_sql(i.create_sql);
    }
    for (const auto& w : plan.warnings) m.add_warnings(w);
    for (const auto& n : plan.notes) m.add_notes(n);
    for (const auto& s : sql_statements(plan)) m.add_statements(s);
    for (const auto& c : checks) {
        auto* out = m.add_preflight();
        out->set_name(c.name);
        out->set_ok(c.ok);
        out->set_fatal(c.fatal);
        out->set_message(c.message);
    }
    if (estimate) {
        auto* out = m.mutable_estimate();
        out->set_table_bytes(estimate->table_bytes);
        out->set_indexes_bytes(estimate->indexes_bytes);
        out->set_total_bytes(estimate->total_bytes);
        out->set_wal_bytes(estimate->wal_bytes);
        out->set_wal_bytes_high(estimate->wal_bytes_high);
        for (const auto& i : estimate->indexes) {
            auto* index = out->add_indexes();
            index->set_name(i.name);
            index->set_bytes(i.bytes);
        }
        out->set_basis(estimate->basis);
        for (const auto& line : estimate->lines) out->add_lines(line);
    }
    return m;
}

std::string to_json(const google::protobuf::Message& m) {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    std::string json;
    const auto status = google::protobuf::util::MessageToJsonString(m, &json, options);
    if (!status.ok()) throw runtime_error("cannot render the plan as JSON: " + status.ToString());
    return json;
}

}  // namespace

std::string render_json(const target_plan& plan, const std::vector<preflight_check>& checks,
                        const std::optional<size_estimate>& estimate) {
    return to_json(to_message(plan, checks, estimate));
}

std::string render_group_sql(const std::string& job, const std::vector<group_member>& members,
                             const group_plan& group) {
    std::string s = "-- partshift plan for job " + one_line(job) + ": " +
                    std::to_string(members.size()) +
                    " tables, copied and followed together and switched in one cutover\n\n";
    for (const auto& m : members) s += render_sql(m.plan, m.checks, m.estimate) + "\n";
    if (!group.fks.empty()) {
        s += "-- foreign keys between the tables of the job, between their partitioned tables\n"
             "BEGIN;\n\n";
        for (const auto& fk : group.fks) s += fk.sql + ";\n";
        s += "\nCOMMIT;\n";
    }
    return s;
}

std::string render_group_json(const std::string& job, const std::vector<group_member>& members,
                              const group_plan& group) {
    proto::group_plan m;
    m.set_job(job);
    for (const auto& member : members)
        *m.add_tables() = to_message(member.plan, member.checks, member.estimate);
    for (const auto& fk : group.fks) {
        auto* out = m.add_foreign_keys();
        out->set_name(fk.name);
        out->set_referencing(qualified(members[fk.referencing].plan.target));
        out->set_referenced(qualified(members[fk.referenced].plan.target));
        out->set_sql(fk.sql);
    }
    return to_json(m);
}

}  // namespace partshift::plan
