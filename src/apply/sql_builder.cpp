// sql_builder: renders the applier's statements. String building only; no connection.
#include "partshift/apply/sql_builder.hpp"

#include <algorithm>
#include <stdexcept>

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::apply {

std::string quote_qualified(const catalog::qualified_name& name) {
    return pg::escape_qualified(name.schema, name.name);
}

namespace {

// refuse_identity_always: UPDATE may only set a GENERATED ALWAYS identity column to DEFAULT,
// so no update statement may carry one (the applier replaces such rows instead).
void refuse_identity_always(const column_def& column) {
    if (column.identity_always)
        throw std::invalid_argument("UPDATE may not set GENERATED ALWAYS identity column " +
                                    pg::escape_identifier(column.name));
}

std::string placeholder(size_t n) {
    return "$" + std::to_string(n);
}

}  // namespace

sql_builder::sql_builder(std::string relation, std::vector<column_def> columns,
                         std::vector<size_t> key)
    : relation_(std::move(relation)), columns_(std::move(columns)), key_(std::move(key)) {
    if (columns_.empty()) throw usage_error("relation " + relation_ + " has no columns to apply");
    if (key_.empty()) throw usage_error("relation " + relation_ + " has no apply key");
    for (size_t k : key_)
        if (k >= columns_.size()) throw std::invalid_argument("key column index out of range");

    std::string names, values;
    bool overriding = false;
    for (size_t i = 0; i < columns_.size(); ++i) {
        if (i) {
            names += ", ";
            values += ", ";
        }
        names += pg::escape_identifier(columns_[i].name);
        values += placeholder(i + 1);
        insert_.param_types.push_back(columns_[i].type_oid);
        overriding = overriding || columns_[i].identity_always;
    }
    insert_.sql = "INSERT INTO " + relation_ + " (" + names + ")" +
                  (overriding ? " OVERRIDING SYSTEM VALUE" : "") + " VALUES (" + values + ")";

    for (size_t k : key_) delete_.param_types.push_back(columns_[k].type_oid);
    delete_.sql = "DELETE FROM " + relation_ + " WHERE " + key_condition(1);

    select_.param_types = delete_.param_types;
    select_.sql = "SELECT " + names + " FROM " + relation_ + " WHERE " + key_condition(1);
}

sql_builder sql_builder::for_table(const catalog::table_model& source,
                                   const catalog::qualified_name& relation) {
    const catalog::index* apply_key = source.apply_key();
    if (!apply_key || apply_key->key_columns.empty())
        throw usage_error("table " + quote_qualified(source.name) +
                          " has neither a primary key nor a replica identity index on plain "
                          "columns; add one so changes can be applied by key");
    std::vector<column_def> columns;
    for (const auto& c : source.columns) {
        if (c.generated_expr) continue;  // pgoutput never sends generated columns
        columns.push_back({c.name, c.type_oid, c.identity == 'a', c.type_name,
                           c.type_category.empty() ? '\0' : c.type_category[0]});
    }
    std::vector<size_t> key;
    for (const auto& name : apply_key->key_columns) {
        size_t i = 0;
        while (i < columns.size() && columns[i].name != name) ++i;
        if (i == columns.size())
            throw usage_error("apply key column " + pg::escape_identifier(name) + " of " +
                              quote_qualified(source.name) + " is not a replicated column");
        key.push_back(i);
    }
    return sql_builder(quote_qualified(relation), std::move(columns), std::move(key));
}

std::string sql_builder::key_condition(size_t first_param) const {
    std::string out;
    for (size_t i = 0; i < key_.size(); ++i) {
        if (i) out += " AND ";
        const auto& c = columns_[key_[i]];
        out += pg::escape_identifier(c.name) + " = " + placeholder(first_param + i);
    }
    return out;
}

const statement& sql_builder::update_by_key(const column_mask& set) {
    if (set.size() != columns_.size())
        throw std::invalid_argument("column mask size does not match the column list");
    if (auto found = updates_.find(set); found != updates_.end()) return found->second;

    statement st;
    std::string assignments;
    for (size_t i = 0; i < columns_.size(); ++i) {
        if (!set[i]) continue;
        refuse_identity_always(columns_[i]);
        if (!assignments.empty()) assignments += ", ";
        st.param_types.push_back(columns_[i].type_oid);
        assignments +=
            pg::escape_identifier(columns_[i].name) + " = " + placeholder(st.param_types.size());
    }
    if (assignments.empty()) throw std::invalid_argument("UPDATE with no column to set");
    size_t first_key_param = st.param_types.size() + 1;
    for (size_t k : key_) st.param_types.push_back(columns_[k].type_oid);
    st.sql =
        "UPDATE " + relation_ + " SET " + assignments + " WHERE " + key_condition(first_key_param);
    return updates_.emplace(set, std::move(st)).first->second;
}

const statement& sql_builder::update_in_partition(const column_mask& set,
                                                  const std::vector<size_t>& located) {
    auto id = std::make_pair(set, located);
    if (auto found = located_updates_.find(id); found != located_updates_.end())
        return found->second;
    statement st = update_by_key(set);
    for (size_t c : located) {
        if (c >= columns_.size()) throw std::invalid_argument("located column out of range");
        st.param_types.push_back(columns_[c].type_oid);
        st.sql += " AND " + pg::escape_identifier(columns_[c].name) + " = " +
                  placeholder(st.param_types.size());
    }
    return located_updates_.emplace(std::move(id), std::move(st)).first->second;
}

column_mask sql_builder::updatable_mask(column_mask sent) const {
    for (size_t i = 0; i < sent.size() && i < columns_.size(); ++i)
        if (columns_[i].identity_always) sent[i] = false;
    return sent;
}

std::string truncate_sql(const std::vector<std::string>& relations, bool restart_identity) {
    std::string sql = "TRUNCATE ";
    for (size_t i = 0; i < relations.size(); ++i) sql += (i ? ", " : "") + relations[i];
    return sql + (restart_identity ? " RESTART IDENTITY" : "");
}

std::string sql_builder::truncate(bool restart_identity) const {
    return truncate_sql({relation_}, restart_identity);
}

bool sql_builder::supports_sets() const {
    for (const auto& c : columns_) {
        if (c.type_name.empty() || c.type_category == 'A') return false;
        if (c.type_name.size() > 2 && c.type_name.compare(c.type_name.size() - 2, 2, "[]") == 0)
            return false;
        if (c.type_name == "box") return false;  // its array delimiter is ';'
    }
    return true;
}

std::string sql_builder::set_source(const std::vector<size_t>& columns, statement& st) const {
    if (!supports_sets())
        throw std::logic_error("set-based statements need known, non-array column types");
    std::string arrays, names;
    for (size_t i = 0; i < columns.size(); ++i) {
        st.param_types.push_back(0);  // the array type comes from the cast
        arrays += (i ? ", " : "") + placeholder(st.param_types.size()) +
                  "::" + columns_[columns[i]].type_name + "[]";
        names += pg::escape_identifier("c" + std::to_string(i + 1)) + ", ";
    }
    return "WITH v AS MATERIALIZED (SELECT * FROM unnest(" + arrays + ") WITH ORDINALITY AS v(" +
           names + "\"n\"))";
}

namespace {

// The rows of v whose target row count (in w, by row number) is not exactly one. The join
// runs only when the counts already show a divergence (a one-time filter over an InitPlan):
// the apply session plans without hash joins, and a nested loop over two CTEs of a thousand
// rows each would cost more than the statement itself.
constexpr const char* set_divergences =
    " SELECT v.\"n\", count(w.\"n\") FROM v LEFT JOIN w ON w.\"n\" = v.\"n\""
    " WHERE (SELECT count(*) <> (SELECT count(*) FROM v) OR"
    " count(DISTINCT w.\"n\") <> (SELECT count(*) FROM v) FROM w)"
    " GROUP BY v.\"n\" HAVING count(w.\"n\") <> 1";

}  // namespace

const statement& sql_builder::insert_set() {
    if (insert_set_) return *insert_set_;
    statement st;
    std::vector<size_t> all(columns_.size());
    std::string names, values;
    bool overriding = false;
    for (size_t i = 0; i < columns_.size(); ++i) {
        all[i] = i;
        names += (i ? ", " : "") + pg::escape_identifier(columns_[i].name);
        values += (i ? ", " : "") + pg::escape_identifier("c" + std::to_string(i + 1));
        overriding = overriding || columns_[i].identity_always;
    }
    std::string returning, match;
    for (size_t i = 0; i < key_.size(); ++i) {
        const std::string name = pg::escape_identifier(columns_[key_[i]].name);
        returning += (i ? ", " : "") + name;
        match += std::string(i ? " AND " : "") + "w." + name + " = v." +
                 pg::escape_identifier("c" + std::to_string(key_[i] + 1));
    }
    st.sql = set_source(all, st) + ", w AS (INSERT INTO " + relation_ + " (" + names + ")" +
             (overriding ? " OVERRIDING SYSTEM VALUE" : "") + " SELECT " + values +
             " FROM v ON CONFLICT DO NOTHING RETURNING " + returning +
             // Each row inserts at most once: equal counts mean no conflict (see above).
             ") SELECT v.\"n\", 1::bigint FROM v WHERE (SELECT count(*) FROM w) <> "
             "(SELECT count(*) FROM v) AND NOT EXISTS (SELECT FROM w WHERE " +
             match + ")";
    insert_set_ = std::move(st);
    return *insert_set_;
}

const statement& sql_builder::delete_set() {
    if (delete_set_) return *delete_set_;
    statement st;
    std::string match;
    for (size_t i = 0; i < key_.size(); ++i)
        match += std::string(i ? " AND " : "") + "t." +
                 pg::escape_identifier(columns_[key_[i]].name) + " = v." +
                 pg::escape_identifier("c" + std::to_string(i + 1));
    st.sql = set_source(key_, st) + ", w AS (DELETE FROM " + relation_ + " AS t USING v WHERE " +
             match + " RETURNING v.\"n\")" + set_divergences;
    delete_set_ = std::move(st);
    return *delete_set_;
}

const statement& sql_builder::update_set(const column_mask& set,
                                         const std::vector<size_t>& located) {
    if (set.size() != columns_.size())
        throw std::invalid_argument("column mask size does not match the column list");
    auto id = std::make_pair(set, located);
    if (auto found = update_sets_.find(id); found != update_sets_.end()) return found->second;
    statement st;
    std::vector<size_t> params;
    std::string assignments;
    for (size_t i = 0; i < columns_.size(); ++i) {
        if (!set[i]) continue;
        refuse_identity_always(columns_[i]);
        if (std::find(key_.begin(), key_.end(), i) != key_.end())
            throw std::invalid_argument("a set-based UPDATE may not set key column " +
                                        pg::escape_identifier(columns_[i].name));
        params.push_back(i);
        assignments += (assignments.empty() ? "" : ", ") + pg::escape_identifier(columns_[i].name) +
                       " = v." + pg::escape_identifier("c" + std::to_string(params.size()));
    }
    if (assignments.empty()) throw std::invalid_argument("UPDATE with no column to set");
    std::string match;
    for (size_t i = 0; i < key_.size(); ++i) {
        params.push_back(key_[i]);
        match += std::string(i ? " AND " : "") + "t." +
                 pg::escape_identifier(columns_[key_[i]].name) + " = v." +
                 pg::escape_identifier("c" + std::to_string(params.size()));
    }
    for (size_t c : located) {
        if (c >= columns_.size()) throw std::invalid_argument("located column out of range");
        params.push_back(c);
        match += " AND t." + pg::escape_identifier(columns_[c].name) + " = v." +
                 pg::escape_identifier("c" + std::to_string(params.size()));
    }
    st.sql = set_source(params, st) + ", w AS (UPDATE " + relation_ + " AS t SET " + assignments +
             " FROM v WHERE " + match + " RETURNING v.\"n\")" + set_divergences;
    return update_sets_.emplace(std::move(id), std::move(st)).first->second;
}

}  // namespace partshift::apply
