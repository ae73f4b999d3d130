// partition_tree: the query, its reading, and the comparison (see the header).
#include "partshift/catalog/partition_tree.hpp"

#include <map>

namespace partshift::catalog {

const char* const partition_tree_sql =
    "WITH RECURSIVE tree(relid, parent, level) AS ( "
    "  SELECT inhrelid, inhparent, 1 FROM pg_catalog.pg_inherits WHERE inhparent = $1::oid "
    "  UNION ALL "
    "  SELECT i.inhrelid, i.inhparent, t.level + 1 FROM pg_catalog.pg_inherits i "
    "  JOIN tree t ON i.inhparent = t.relid WHERE t.level < 100) "
    "SELECT c.oid, n.nspname, c.relname, t.parent::oid AS parent, "
    "  coalesce(pg_catalog.pg_get_expr(c.relpartbound, c.oid), '') AS bound, "
    "  coalesce(md5(c.relpartbound::text), '') AS bound_id, c.relkind, "
    "  coalesce((SELECT i.inhdetachpending FROM pg_catalog.pg_inherits i "
    "            WHERE i.inhrelid = c.oid AND i.inhparent = t.parent), false) AS detach_pending "
    "FROM tree t JOIN pg_catalog.pg_class c ON c.oid = t.relid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "ORDER BY t.level, n.nspname, c.relname";

std::vector<partition_member> partition_members(const pg::result& r) {
    std::vector<partition_member> out;
    for (int i = 0; i < r.rows(); ++i) {
        partition_member m;
        m.oid = static_cast<uint32_t>(r.get_int(i, "oid"));
        m.name = {r.get(i, "nspname"), r.get(i, "relname")};
        m.parent_oid = static_cast<uint32_t>(r.get_int(i, "parent"));
        m.bound = r.get(i, "bound");
        m.bound_id = r.get(i, "bound_id");
        const std::string kind = r.get(i, "relkind");
        m.relkind = kind.empty() ? 'r' : kind.front();
        m.detach_pending = r.get_bool(i, "detach_pending");
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<partition_member> read_partition_tree(pg::connection& conn, uint32_t root_oid) {
    return partition_members(conn.query(partition_tree_sql, std::to_string(root_oid)));
}

std::string member_text(const partition_member& m) {
    return m.name.schema + "." + m.name.name + " (parent oid " + std::to_string(m.parent_oid) +
           ", bound " + m.bound_id + ")" + (m.detach_pending ? " [detach pending]" : "");
}

std::optional<std::string> describe_tree_change(const std::vector<recorded_member>& recorded,
                                                const std::vector<partition_member>& now,
                                                const std::string& root) {
    const std::string fix =
        ": the job cannot follow a change of the source's partitions (their rows are not in "
        "the change stream). Run 'partshift abort' and start the job again";
    std::map<uint32_t, std::string> before(recorded.begin(), recorded.end());
    // oid 0: a change an earlier run saw. Undoing it does not undo what the stream carried
    // meanwhile (rows of an attached partition applied, say), so the job stays stopped.
    if (auto seen = before.find(changed_marker_oid); seen != before.end())
        return "the partitions of " + root + " changed during the job (" + seen->second + ")" + fix;
    for (const auto& m : now) {
        auto it = before.find(m.oid);
        const std::string name = m.name.schema + "." + m.name.name;
        if (it == before.end())
            return "partition " + name + " was attached to " + root + " during the job" + fix;
        if (it->second != member_text(m))
            return "partition " + name + " of " + root + " changed during the job (" +
                   (m.detach_pending ? std::string("being detached")
                                     : "detached and attached again, now " + m.bound) +
                   ")" + fix;
        before.erase(it);
    }
    if (!before.empty()) {
        // The recorded text starts with the name; cut at its " (parent" for the message.
        const std::string& text = before.begin()->second;
        return "partition " + text.substr(0, text.find(" (parent oid ")) + " was detached from " +
               root + " (or dropped) during the job" + fix;
    }
    return std::nullopt;
}

}  // namespace partshift::catalog
