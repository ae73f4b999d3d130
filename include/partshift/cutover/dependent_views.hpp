// dependent_views: the views and materialized views that read the source table (directly or
// through other views), captured before the swap's renames and carried over to the partitioned
// table after them. Plain views are replaced in place (CREATE OR REPLACE VIEW keeps their oid,
// owner, grants, comments, triggers and whatever depends on them); materialized views cannot
// be, so they — and any view reading one — are dropped and recreated with their owner, grants,
// comments, options, indexes, triggers and rules. Must not run outside the swap's transaction,
// and must not drop anything with CASCADE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/catalog/table_model.hpp"
#include "partshift/cutover/swap_catalog.hpp"
#include "partshift/cutover/swap_sql.hpp"
#include "partshift/pg/connection.hpp"

namespace partshift::cutover {

// captured_view: one dependent view as it was before the renames. Texts come from the server's
// deparsers under search_path = '' (table_swap sets it), so every name in them is
// schema-qualified and, read again after the renames, resolves to the partitioned table.
struct captured_view {
    view_shape shape;  // name, materialized, options, tablespace, access method, populated
    uint32_t oid = 0;
    int depth = 1;
    std::string definition;  // pg_get_viewdef
    std::string owner;
    std::optional<std::string> comment;
    std::vector<std::pair<std::string, std::string>> column_comments;  // column, comment
    std::vector<std::pair<std::string, std::string>> column_defaults;  // column, expression
    std::vector<catalog::grant> grants;                                // owner's own left out
    std::vector<std::string> index_sql;  // pg_get_indexdef (materialized views)
    std::vector<std::string> index_comment_sql;
    std::vector<catalog::trigger> triggers;  // INSTEAD OF triggers of views
    std::vector<std::string> rule_sql;       // pg_get_ruledef of rules other than _RETURN
    std::vector<uint32_t> reads;             // oids of the relations its query reads
    bool recreate = false;  // dropped and created again (a materialized view, or reads one)
};

// capture_views reads every view in table.dependent_views (by depth). Tables with rules on the
// table are left to dependent_objects (their rules are carried there); a relation gone since
// the table was inspected becomes a note in `skipped`.
std::vector<captured_view> capture_views(pg::connection& conn, const catalog::table_model& table,
                                         std::vector<std::string>& skipped);

// carry_views: after the renames, drops the views to recreate (deepest first), then replaces or
// recreates every captured view in dependency order, then fills the recreated materialized
// views that were populated (REFRESH, as their owner, under search_path — the session's own,
// restored to '' afterwards).
void carry_views(swap_runner& run, const std::vector<captured_view>& views,
                 const std::string& search_path);

// view_statements: what carry_views runs to replace or recreate one view, before any REFRESH
// (exposed for tests). A recreated materialized view is created WITH NO DATA.
std::vector<std::string> view_statements(const captured_view& view);

// refresh_sql: REFRESH MATERIALIZED VIEW for a recreated one that was populated.
std::optional<std::string> refresh_sql(const captured_view& view);

}  // namespace partshift::cutover
