// sql_builder: renders the applier's statements. String building only; no connection.
#include "partshift/apply/sql_builder.hpp"

#include <stdexcept>

#include "partshift/error.hpp"

namespace partshift::apply {

std::string quote_identifier(std::string_view name) {
    if (name.empty()) throw usage_error("empty SQL identifier");
    std::string out;
    out.reserve(name.size() + 2);
    out.push_back('"');
    for (char c : name) {
        if (c == '\0') throw usage_error("SQL identifier contains a NUL byte");
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string quote_qualified(const catalog::qualified_name& name) {
    if (name.schema.empty()) return quote_identifier(name.name);
    return quote_identifier(name.schema) + "." + quote_identifier(name.name);
}

namespace {

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
        names += quote_identifier(columns_[i].name);
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
        columns.push_back({c.name, c.type_oid, c.identity == 'a'});
    }
    std::vector<size_t> key;
    for (const auto& name : apply_key->key_columns) {
        size_t i = 0;
        while (i < columns.size() && columns[i].name != name) ++i;
        if (i == columns.size())
            throw usage_error("apply key column " + quote_identifier(name) + " of " +
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
        out += quote_identifier(c.name) + " = " + placeholder(first_param + i);
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
        if (columns_[i].identity_always)
            throw std::invalid_argument("UPDATE may not set GENERATED ALWAYS identity column " +
                                        quote_identifier(columns_[i].name));
        if (!assignments.empty()) assignments += ", ";
        st.param_types.push_back(columns_[i].type_oid);
        assignments +=
            quote_identifier(columns_[i].name) + " = " + placeholder(st.param_types.size());
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
        st.sql += " AND " + quote_identifier(columns_[c].name) + " = " +
                  placeholder(st.param_types.size());
    }
    return located_updates_.emplace(std::move(id), std::move(st)).first->second;
}

column_mask sql_builder::updatable_mask(column_mask sent) const {
    for (size_t i = 0; i < sent.size() && i < columns_.size(); ++i)
        if (columns_[i].identity_always) sent[i] = false;
    return sent;
}

std::string sql_builder::truncate(bool restart_identity) const {
    return "TRUNCATE " + relation_ + (restart_identity ? " RESTART IDENTITY" : "");
}

}  // namespace partshift::apply
