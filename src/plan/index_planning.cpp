// index_planning: indexes and key constraints on the target (see the header). Works on the
// server's own index text (using_clause) so opclasses, collations, sort orders, expressions and
// predicates survive unchanged; only the key list is touched, and only to append columns.
#include "partshift/plan/index_planning.hpp"

#include <fmt/ranges.h>

#include <algorithm>

#include "partshift/catalog/table_name.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::plan {

using catalog::qualified;
using pg::quote_ident;
using pg::quote_literal;

namespace {

std::string quoted_list(const std::vector<std::string>& names) {
    std::vector<std::string> q;
    for (const auto& n : names) q.push_back(quote_ident(n));
    return fmt::format("{}", fmt::join(q, ", "));
}

// refers_to: whether a printed key element is the plain column `column` (maybe with an opclass,
// collation or sort order after it), as pg_get_indexdef prints it.
bool refers_to(const std::string& element, const std::string& column) {
    const std::string q = quote_ident(column);
    return element == q || element.rfind(q + " ", 0) == 0;
}

}  // namespace

std::optional<index_key_list> parse_index_key_list(const std::string& u) {
    if (u.rfind("USING ", 0) != 0) return std::nullopt;
    index_key_list out;
    out.open = u.find('(');
    if (out.open == std::string::npos) return std::nullopt;
    int depth = 0;
    std::size_t start = out.open + 1;
    for (std::size_t i = out.open; i < u.size(); ++i) {
        const char c = u[i];
        if (c == '"' || c == '\'') {
            // Quoted identifier or literal: skip to the closing quote (doubled quotes continue).
            for (++i; i < u.size(); ++i) {
                if (u[i] == c) {
                    if (i + 1 < u.size() && u[i + 1] == c)
                        ++i;
                    else
                        break;
                }
            }
            continue;
        }
        if (c == '(')
            ++depth;
        else if (c == ')' && --depth == 0) {
            out.close = i;
            out.elements.push_back(u.substr(start, i - start));
            break;
        } else if (c == ',' && depth == 1) {
            out.elements.push_back(u.substr(start, i - start));
            start = i + 1;
        }
    }
    if (out.close == 0) return std::nullopt;
    for (auto& e : out.elements) {
        const auto b = e.find_first_not_of(' ');
        const auto l = e.find_last_not_of(' ');
        e = b == std::string::npos ? "" : e.substr(b, l - b + 1);
    }
    return out;
}

planned_indexes plan_indexes(const catalog::table_model& table,
                             const catalog::qualified_name& target,
                             const std::vector<std::string>& partition_keys,
                             name_allocator& names) {
    planned_indexes out;
    const std::string target_sql = qualified(target);

    // The primary key first: the copier and the applier rely on it, and inbound FKs need it.
    std::vector<const catalog::index*> ordered;
    for (const auto& i : table.indexes)
        if (i.is_primary) ordered.push_back(&i);
    for (const auto& i : table.indexes)
        if (!i.is_primary) ordered.push_back(&i);

    for (const catalog::index* src : ordered) {
        const bool exclusion = src->is_constraint && !src->is_primary && !src->is_unique;
        if (exclusion) {
            out.warnings.push_back(
                "exclusion constraint " + src->constraint_name.value_or(src->name) +
                " is skipped: PostgreSQL 15 cannot enforce exclusion constraints "
                "on a partitioned table");
            continue;
        }
        auto keys = parse_index_key_list(src->using_clause);
        if (!keys) {
            out.warnings.push_back("index " + src->name +
                                   " is skipped: cannot read its definition '" + src->using_clause +
                                   "'");
            continue;
        }

        planned_index idx;
        idx.source_index = src->name;
        idx.is_primary = src->is_primary;
        idx.is_unique = src->is_unique || src->is_primary;
        idx.name = names.take(src->name + "_new");
        idx.using_clause = src->using_clause;

        std::vector<std::string> elements = keys->elements;
        if (idx.is_unique) {
            // PostgreSQL: "unique constraint on partitioned table must include all partitioning
            // columns" — append the missing ones, after the original columns so lookups by the
            // original key can still use the index's leading columns.
            std::string added;
            for (const auto& k : partition_keys) {
                const bool present =
                    std::any_of(elements.begin(), elements.end(),
                                [&](const std::string& e) { return refers_to(e, k); });
                if (present) continue;
                elements.push_back(quote_ident(k));
                added += ", " + quote_ident(k);
            }
            if (!added.empty()) {
                idx.extended_with_partition_key = true;
                idx.using_clause.insert(keys->close, added);
                const char* what = src->is_primary ? "primary key" : "unique index";
                out.warnings.push_back(fmt::format(
                    "uniqueness of ({}) is no longer enforced across partitions: the target's {} "
                    "is ({}){}",
                    fmt::join(keys->elements, ", "), what, fmt::join(elements, ", "),
                    src->has_expressions ? " (expression index)" : ""));
            }
        }

        const std::string& cname = idx.name;  // index and constraint share the name
        if (src->is_primary || (src->is_constraint && src->is_unique)) {
            std::vector<std::string> cols = src->key_columns;
            std::string col_sql;
            if (!cols.empty()) {
                for (const auto& k : partition_keys)
                    if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
                col_sql = quoted_list(cols);
            } else {
                col_sql = fmt::format("{}", fmt::join(elements, ", "));
            }
            idx.create_sql = "ALTER TABLE " + target_sql + " ADD CONSTRAINT " + quote_ident(cname) +
                             (src->is_primary ? " PRIMARY KEY " : " UNIQUE ") +
                             (src->nulls_not_distinct ? "NULLS NOT DISTINCT " : "") + "(" +
                             col_sql + ")";
            if (!src->include_columns.empty())
                idx.create_sql += " INCLUDE (" + quoted_list(src->include_columns) + ")";
            if (src->tablespace)
                idx.create_sql += " USING INDEX TABLESPACE " + quote_ident(*src->tablespace);
        } else {
            idx.create_sql = std::string("CREATE ") + (idx.is_unique ? "UNIQUE " : "") + "INDEX " +
                             quote_ident(cname) + " ON " + target_sql + " " + idx.using_clause;
            if (src->tablespace)
                out.notes.push_back("index " + src->name + " is in tablespace " + *src->tablespace +
                                    "; its copy " + cname +
                                    " is created in the default tablespace");
        }
        if (src->comment)
            idx.comment_sql = "COMMENT ON INDEX " + qualified({target.schema, cname}) + " IS " +
                              quote_literal(*src->comment);
        out.indexes.push_back(std::move(idx));
    }
    return out;
}

}  // namespace partshift::plan
