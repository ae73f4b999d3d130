// row_values: tuple → parameter conversions for the applier. Pure functions.
#include "partshift/apply/row_values.hpp"

#include "partshift/error.hpp"

namespace partshift::apply {

using stream::tuple_value;

pg::param value_param(const tuple_value& value) {
    switch (value.k) {
        case tuple_value::kind::null:
            return std::nullopt;
        case tuple_value::kind::text:
            return value.data;
        case tuple_value::kind::unchanged_toast:
            throw runtime_error("internal error: an unchanged TOAST value ('u') reached a write");
        case tuple_value::kind::binary:
            break;
    }
    throw runtime_error(
        "binary tuple values are not supported by the applier; stream pgoutput in text mode");
}

pg::param_list key_of(const stream::tuple& row, const std::vector<size_t>& key,
                      const stream::tuple* fallback) {
    pg::param_list out;
    out.reserve(key.size());
    for (size_t k : key) {
        const tuple_value* v = k < row.size() ? &row[k] : nullptr;
        if (v && v->k == tuple_value::kind::unchanged_toast && fallback && k < fallback->size())
            v = &(*fallback)[k];
        if (!v || v->k == tuple_value::kind::unchanged_toast || v->k == tuple_value::kind::null)
            throw runtime_error(
                "a change does not carry the apply key (key column " + std::to_string(k + 1) +
                " missing or NULL): the source's replica identity must cover its primary key");
        out.push_back(value_param(*v));
    }
    return out;
}

column_mask sent_columns(const stream::tuple& row) {
    column_mask mask(row.size());
    for (size_t i = 0; i < row.size(); ++i)
        mask[i] = row[i].k != tuple_value::kind::unchanged_toast;
    return mask;
}

bool is_complete(const stream::tuple& row) {
    for (const auto& v : row)
        if (v.k == tuple_value::kind::unchanged_toast) return false;
    return true;
}

void fill_unchanged(stream::tuple& new_row, const stream::tuple& old_row) {
    for (size_t i = 0; i < new_row.size() && i < old_row.size(); ++i)
        if (new_row[i].k == tuple_value::kind::unchanged_toast &&
            old_row[i].k != tuple_value::kind::unchanged_toast)
            new_row[i] = old_row[i];
}

pg::param_list params_of(const stream::tuple& row, const column_mask& mask) {
    pg::param_list out;
    out.reserve(row.size());
    for (size_t i = 0; i < row.size(); ++i)
        if (mask.empty() || (i < mask.size() && mask[i])) out.push_back(value_param(row[i]));
    return out;
}

std::string describe_key(const std::vector<column_def>& columns, const std::vector<size_t>& key,
                         const pg::param_list& values) {
    std::string names, shown;
    for (size_t i = 0; i < key.size(); ++i) {
        if (i) {
            names += ", ";
            shown += ", ";
        }
        names += key[i] < columns.size() ? columns[key[i]].name : "?";
        shown += i < values.size() && values[i] ? *values[i] : "NULL";
    }
    return "(" + names + ")=(" + shown + ")";
}

}  // namespace partshift::apply
