// row_grouping: the pure rules of set-based runs (row_grouping.hpp). No connection and no
// I/O: apply_session sends what is built here.
#include "partshift/apply/row_grouping.hpp"

#include <algorithm>

#include "partshift/pg/array_literal.hpp"

namespace partshift::apply {

bool any_group_open(const row_groups& groups) {
    return std::any_of(groups.begin(), groups.end(),
                       [](const row_group& g) { return g.kind != group_kind::none; });
}

placement place_change(const row_groups& groups, group_kind kind, const column_mask& mask,
                       bool located, const std::string& key_text, bool reorder_safe) {
    const row_group& group = groups[static_cast<size_t>(kind) - 1];
    bool repeated = std::any_of(groups.begin(), groups.end(),
                                [&](const row_group& g) { return g.keys.count(key_text) > 0; });
    bool other_open = std::any_of(groups.begin(), groups.end(), [&](const row_group& g) {
        return &g != &group && g.kind != group_kind::none;
    });
    if (repeated || (other_open && !reorder_safe)) return placement::send_all_first;
    if (group.kind != group_kind::none && (group.mask != mask || group.located != located))
        return placement::send_run_first;
    return placement::join;
}

void open_run(row_group& group, group_kind kind, const column_mask& mask, const char* operation,
              const pg::param_list& params, const std::optional<pg::param_list>& where) {
    const bool located = kind == group_kind::update && where.has_value();
    group.kind = kind;
    group.mask = mask;
    group.located = located;
    group.operation = operation;
    group.arrays.assign(params.size() + (located ? where->size() : 0), std::string());
    group.rows = std::make_shared<group_rows>();
    group.rows->located = located;
    group.first_params = params;
    group.first_where = where;
}

void add_row(row_group& group, const pg::param_list& params,
             const std::optional<pg::param_list>& where, const pg::param_list& key,
             std::string key_text, stream::lsn_t commit_lsn) {
    for (size_t i = 0; i < params.size(); ++i) {
        pg::append_array_element(group.arrays[i], params[i]);
        group.bytes += params[i] ? params[i]->size() + 3 : 5;
    }
    if (group.located) {
        for (size_t i = 0; i < where->size(); ++i) {
            pg::append_array_element(group.arrays[params.size() + i], (*where)[i]);
            group.bytes += (*where)[i] ? (*where)[i]->size() + 3 : 5;
        }
        group.rows->fallback_params.push_back(params);
    }
    group.rows->keys.push_back(key);
    group.rows->commit_lsns.push_back(commit_lsn);
    group.keys.insert(std::move(key_text));
}

bool run_full(const row_group& group, int max_rows, size_t max_bytes) {
    return static_cast<int>(group.rows->keys.size()) >= max_rows || group.bytes >= max_bytes;
}

pg::param_list close_run_arrays(row_group& group) {
    pg::param_list params;
    params.reserve(group.arrays.size());
    for (auto& a : group.arrays) {
        pg::close_array_literal(a);
        params.emplace_back(std::move(a));
    }
    group.arrays.clear();
    return params;
}

}  // namespace partshift::apply
