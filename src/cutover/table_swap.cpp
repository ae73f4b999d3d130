// table_swap: placeholder (renames only) until the dependent-object moves land.
#include "partshift/cutover/table_swap.hpp"

namespace partshift::cutover {

swap_outcome swap_tables(pg::connection& conn, const swap_request& r) {
    swap_outcome out;
    const auto schema = conn.quote_ident(r.source.schema);
    conn.exec("ALTER TABLE " + schema + "." + conn.quote_ident(r.source.name) + " RENAME TO " +
              conn.quote_ident(r.old_name));
    conn.exec("ALTER TABLE " + schema + "." + conn.quote_ident(r.target_table) + " RENAME TO " +
              conn.quote_ident(r.source.name));
    out.steps.push_back("renamed the tables");
    return out;
}

void finish_after_commit(pg::connection&, const swap_outcome&) {}

}  // namespace partshift::cutover
