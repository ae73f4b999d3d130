// revert_window_check: the unique indexes a revert window needs kept (see the header). Reads
// plan_indexes' verdicts; renders nothing.
#include "partshift/plan/revert_window_check.hpp"

#include <algorithm>

#include "partshift/plan/index_planning.hpp"

namespace partshift::plan {

namespace {

// kept_as_is: plan_indexes recreated `src` on the target without weakening it.
bool kept_as_is(const catalog::index& src, const std::vector<planned_index>& planned) {
    auto it = std::find_if(planned.begin(), planned.end(),
                           [&](const planned_index& p) { return p.source_index == src.name; });
    return it != planned.end() && !it->extended_with_partition_key;
}

std::string describe(const catalog::index& src) {
    const bool exclusion = src.is_constraint && !src.is_unique;
    std::string what = exclusion           ? "exclusion constraint "
                       : src.is_constraint ? "unique constraint "
                                           : "unique index ";
    return what + src.constraint_name.value_or(src.name);
}

}  // namespace

std::optional<std::string> revert_window_refusal(const catalog::table_model& table,
                                                 const partition_spec& spec) {
    std::vector<std::string> keys{spec.level1.key};
    if (spec.level2 && spec.level2->key != spec.level1.key) keys.push_back(spec.level2->key);
    name_allocator names;
    const auto planned =
        plan_indexes(table, {table.name.schema, "revert_window_check"}, keys, names);
    for (const auto& src : table.indexes) {
        const bool exclusion = src.is_constraint && !src.is_unique && !src.is_primary;
        if (src.is_primary || src.is_replica_identity || !(src.is_unique || exclusion)) continue;
        if (kept_as_is(src, planned.indexes)) continue;
        std::string key_list;
        for (const auto& k : keys) key_list += (key_list.empty() ? "" : ", ") + k;
        const std::string why =
            exclusion ? " is not kept on the partitioned table (PostgreSQL cannot enforce it there)"
                      : " is not kept on the partitioned table (it does not contain the partition "
                        "key " +
                            key_list + ": it holds per partition only)";
        const std::string way_out =
            exclusion ? "cut over without --revert-window, or drop that constraint first"
                      : "cut over without --revert-window, or make the partition key part of "
                        "that unique index first";
        return "--revert-window: " + describe(src) + " of " + table.name.schema + "." +
               table.name.name + why +
               ", so a row the partitioned table takes could be refused by the original on "
               "the way back and break the window; " +
               way_out;
    }
    return std::nullopt;
}

}  // namespace partshift::plan
