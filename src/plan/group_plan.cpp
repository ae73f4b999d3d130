// group_plan: foreign keys between the tables of one multi-table job (see the header).
#include "partshift/plan/group_plan.hpp"

#include <fmt/ranges.h>

#include <algorithm>

#include "partshift/catalog/table_name.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/fk_rules.hpp"

namespace partshift::plan {

using pg::quote_ident;

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// skip_parenthesized: `text` at `pos` is '('; returns the position after the matching ')',
// ignoring parentheses inside double-quoted identifiers.
size_t skip_parenthesized(const std::string& text, size_t pos) {
    int depth = 0;
    bool quoted = false;
    for (size_t i = pos; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') quoted = !quoted;  // "" inside a quoted name toggles twice: no change
        if (quoted) continue;
        if (c == '(') ++depth;
        if (c == ')' && --depth == 0) return i + 1;
    }
    return std::string::npos;
}

int member_of(const std::vector<group_member>& members, const catalog::qualified_name& name) {
    for (size_t i = 0; i < members.size(); ++i)
        if (members[i].table.name == name) return static_cast<int>(i);
    return -1;
}

preflight_check check(std::string name, bool ok, bool fatal, std::string message) {
    return {std::move(name), ok, fatal, std::move(message)};
}

// refresh_inbound_check: B's inbound_foreign_keys check as preflight words it, counting only
// keys from tables outside the job (the others stay on the old tables).
void refresh_inbound_check(group_member& b, const std::vector<group_member>& members,
                           bool drop_unrepointable_fks) {
    catalog::table_model outside = b.table;
    std::erase_if(outside.inbound_fks, [&](const catalog::foreign_key& fk) {
        return fk.table != b.table.name && member_of(members, fk.table) >= 0;
    });
    if (outside.inbound_fks.size() == b.table.inbound_fks.size()) return;
    const std::string rel = qualified(b.table.name);
    preflight_check replacement;
    if (outside.inbound_fks.empty()) {
        replacement =
            check("inbound_foreign_keys", true, false, "only tables of this job reference " + rel);
    } else {
        std::vector<std::string> stuck;
        for (const auto& fk : inbound_fk_problems(outside, planned_unique_keys(outside, b.plan)))
            stuck.push_back(quote_ident(fk.name) + " on " + qualified(fk.table));
        const std::string found = std::to_string(outside.inbound_fks.size()) +
                                  " foreign key(s) of other tables reference " + rel;
        if (stuck.empty())
            replacement = check("inbound_foreign_keys", true, false,
                                found + "; cutover re-points them to the partitioned table");
        else if (drop_unrepointable_fks)
            replacement = check("inbound_foreign_keys", true, false,
                                fmt::format("{}; cutover drops these, as asked: {}", found,
                                            fmt::join(stuck, ", ")));
        else
            replacement = check("inbound_foreign_keys", false, true,
                                fmt::format("{}; these cannot be re-pointed (their columns are "
                                            "not unique on the partitioned table): {} — drop "
                                            "them first, or let cutover drop them "
                                            "(--drop-unrepointable-fks)",
                                            found, fmt::join(stuck, ", ")));
    }
    for (auto& c : b.checks)
        if (c.name == "inbound_foreign_keys") c = replacement;
}

}  // namespace

std::string referencing_target_definition(const std::string& definition,
                                          const std::string& referenced) {
    static constexpr std::string_view head = "FOREIGN KEY ";
    static constexpr std::string_view refs = " REFERENCES ";
    auto bad = [&] { return runtime_error("unexpected foreign key definition: " + definition); };
    if (definition.rfind(head, 0) != 0 || definition.size() <= head.size() ||
        definition[head.size()] != '(')
        throw bad();
    const size_t columns_end = skip_parenthesized(definition, head.size());
    if (columns_end == std::string::npos || definition.compare(columns_end, refs.size(), refs) != 0)
        throw bad();
    const size_t name_start = columns_end + refs.size();
    // The referenced name runs to the first '(' outside double quotes.
    size_t open = std::string::npos;
    bool quoted = false;
    for (size_t i = name_start; i < definition.size(); ++i) {
        if (definition[i] == '"') quoted = !quoted;
        if (!quoted && definition[i] == '(') {
            open = i;
            break;
        }
    }
    if (open == std::string::npos || open == name_start) throw bad();
    return definition.substr(0, name_start) + referenced + definition.substr(open);
}

std::vector<std::string> planned_primary_key(const catalog::table_model& table,
                                             const partition_spec& spec) {
    const auto* pk = table.primary_key();
    if (!pk) return {};
    std::vector<std::string> out = pk->key_columns;
    auto add = [&](const std::string& key) {
        if (!key.empty() && std::find(out.begin(), out.end(), key) == out.end()) out.push_back(key);
    };
    add(spec.level1.key);
    if (spec.level2) add(spec.level2->key);
    return out;
}

group_plan plan_group(std::vector<group_member>& members, bool drop_unrepointable_fks) {
    group_plan out;
    out.primary_key_first.assign(members.size(), false);
    std::vector<std::string> same;
    for (size_t i = 0; i < members.size(); ++i)
        for (size_t j = 0; j < members.size(); ++j)
            if (i != j && (members[i].table.name == members[j].table.name ||
                           members[i].plan.target == members[j].table.name ||
                           (i < j && members[i].plan.target == members[j].plan.target)))
                same.push_back(qualified(members[i].table.name) + " and " +
                               qualified(members[j].table.name));
    if (!same.empty())
        members.front().checks.push_back(
            check("group_tables", false, true,
                  fmt::format("the tables of the job must be distinct, with distinct targets: {}",
                              fmt::join(same, ", "))));

    for (size_t a = 0; a < members.size(); ++a) {
        auto& referencing = members[a];
        std::vector<std::string> problems;
        for (const auto& fk : referencing.table.outbound_fks) {
            const int b = member_of(members, fk.referenced);
            if (b < 0 || static_cast<size_t>(b) == a) continue;
            const auto& referenced = members[b];
            // The plan's statement for this key (A_new → B) is replaced in every case.
            const std::string tail =
                " ADD CONSTRAINT " + quote_ident(fk.name) + " " + fk.definition;
            std::erase_if(referencing.plan.constraint_sql, [&](const std::string& sql) {
                return sql.size() >= tail.size() &&
                       sql.compare(sql.size() - tail.size(), tail.size(), tail) == 0;
            });
            const auto pk = planned_primary_key(referenced.table, referenced.plan.spec);
            bool not_valid = false;
            fk_definition_without_not_valid(fk.definition, &not_valid);
            const std::string who = "foreign key " + quote_ident(fk.name) + " on " +
                                    qualified(referencing.table.name) + " → " +
                                    qualified(referenced.table.name);
            std::string why;
            if (not_valid)
                why = who + " is NOT VALID on the source, so the data may not satisfy it";
            else if (pk.empty() || sorted(fk.referenced_columns) != sorted(pk))
                why = fmt::format(
                    "{} references ({}), but the partitioned table's primary key will be ({}): "
                    "between tables of one job a key is kept only when it references exactly "
                    "that key (the source key and the partition key)",
                    who, fmt::join(fk.referenced_columns, ", "),
                    pk.empty() ? std::string("none") : fmt::format("{}", fmt::join(pk, ", ")));
            if (!why.empty()) {
                if (drop_unrepointable_fks)
                    referencing.plan.warnings.push_back(
                        why +
                        "; it is left off the partitioned tables, as asked "
                        "(--drop-unrepointable-fks); the old tables keep it");
                else
                    problems.push_back(why);
                continue;
            }
            out.primary_key_first[b] = true;
            out.fks.push_back({a, static_cast<size_t>(b), fk.name,
                               "ALTER TABLE " + qualified(referencing.plan.target) +
                                   " ADD CONSTRAINT " + quote_ident(fk.name) + " " +
                                   referencing_target_definition(
                                       fk.definition, qualified(referenced.plan.target))});
            referencing.plan.notes.push_back(
                who +
                " is created between the partitioned tables before the copy; the old "
                "tables keep theirs");
        }
        if (!problems.empty())
            referencing.checks.push_back(
                check("group_foreign_keys", false, true,
                      fmt::format("{} — or let partshift leave it off (--drop-unrepointable-fks)",
                                  fmt::join(problems, ", "))));
        else
            referencing.checks.push_back(check("group_foreign_keys", true, false,
                                               "foreign keys to other tables of the job: kept"));
    }
    for (auto& m : members) refresh_inbound_check(m, members, drop_unrepointable_fks);
    return out;
}

}  // namespace partshift::plan
