// fk_rules: the inbound foreign key rule (see the header). Pure: no connection, no SQL.
#include "partshift/plan/fk_rules.hpp"

#include <algorithm>
#include <string_view>

namespace partshift::plan {
namespace {

key_columns sorted(key_columns k) {
    std::sort(k.begin(), k.end());
    return k;
}

}  // namespace

std::vector<key_columns> unique_keys(const catalog::table_model& table) {
    std::vector<key_columns> out;
    for (const auto& i : table.indexes)
        if ((i.is_unique || i.is_primary) && !i.is_partial && !i.has_expressions &&
            !i.key_columns.empty())
            out.push_back(i.key_columns);
    return out;
}

std::vector<key_columns> planned_unique_keys(const catalog::table_model& source,
                                             const target_plan& plan) {
    std::vector<std::string> partition_keys{plan.spec.level1.key};
    if (plan.spec.level2) partition_keys.push_back(plan.spec.level2->key);
    std::vector<key_columns> out;
    for (const auto& pi : plan.indexes) {
        if (!pi.is_unique) continue;
        const auto src = std::find_if(source.indexes.begin(), source.indexes.end(),
                                      [&](auto& i) { return i.name == pi.source_index; });
        if (src == source.indexes.end() || src->is_partial || src->has_expressions ||
            src->key_columns.empty())
            continue;
        key_columns cols = src->key_columns;
        if (pi.extended_with_partition_key)
            for (const auto& k : partition_keys)
                if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
        out.push_back(std::move(cols));
    }
    return out;
}

std::vector<catalog::foreign_key> inbound_fk_problems(const catalog::table_model& source,
                                                      const std::vector<key_columns>& target_keys) {
    std::vector<catalog::foreign_key> out;
    for (const auto& fk : source.inbound_fks) {
        if (fk.table == source.name) continue;
        const key_columns wanted = sorted(fk.referenced_columns);
        const bool ok = std::any_of(target_keys.begin(), target_keys.end(),
                                    [&](const key_columns& k) { return sorted(k) == wanted; });
        if (!ok) out.push_back(fk);
    }
    return out;
}

std::string fk_definition_without_not_valid(const std::string& definition, bool* was_not_valid) {
    // pg_get_constraintdef() prints NOT VALID last, after ON DELETE/UPDATE and DEFERRABLE.
    static constexpr std::string_view suffix = " NOT VALID";
    const bool had = definition.ends_with(suffix);
    if (was_not_valid) *was_not_valid = had;
    return had ? definition.substr(0, definition.size() - suffix.size()) : definition;
}

}  // namespace partshift::plan
