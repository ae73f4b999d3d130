// table_swap: the swap as a straight script (see the header): check, read everything under the
// lock, rename, then carry each kind of dependent object over in its own small function. The
// SQL is spelled by cutover/swap_sql; this file decides what to run. Must not begin, commit or
// roll back, and must not change the old table beyond the renames.
#include "partshift/cutover/table_swap.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "partshift/catalog/grants.hpp"
#include "partshift/catalog/inspector.hpp"
#include "partshift/cutover/dependent_objects.hpp"
#include "partshift/cutover/dependent_views.hpp"
#include "partshift/cutover/not_null_names.hpp"
#include "partshift/cutover/swap_catalog.hpp"
#include "partshift/cutover/swap_sql.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/fk_rules.hpp"

namespace partshift::cutover {
namespace {

std::string display(const catalog::qualified_name& n) {
    return n.schema + "." + n.name;
}

// index_rename: a source index and the target index that recreates it (plan/index_planning
// names it source + "_new", or "_new_2", ... when that was taken, fitted to 63 bytes; when
// reverting, the forward swap named the original's source + "_old" the same way).
struct index_rename {
    const catalog::index* source = nullptr;
    const catalog::index* target = nullptr;
};

std::vector<index_rename> match_indexes(const catalog::table_model& src,
                                        const catalog::table_model& tgt,
                                        const std::string& suffix) {
    std::map<std::string, const catalog::index*> by_name;
    for (const auto& i : tgt.indexes) by_name[i.name] = &i;
    std::set<std::string> claimed;
    std::vector<index_rename> out;
    for (const auto& s : src.indexes) {
        for (int n = 1; n <= 100; ++n) {
            const std::string wanted = s.name + suffix + (n == 1 ? "" : "_" + std::to_string(n));
            const auto it = by_name.find(pg::fit_identifier(wanted));
            if (it == by_name.end() || claimed.count(it->first)) continue;
            // Same kind of index, or it is not this one's copy.
            if (it->second->is_primary != s.is_primary || it->second->is_unique != s.is_unique)
                continue;
            claimed.insert(it->first);
            out.push_back({&s, it->second});
            break;
        }
    }
    return out;
}

// identity_move: an identity column's old and new sequence and what the new one must become:
// the old one's settings, a value past both its own and the column's, and its privileges and
// comment (an application that may nextval/currval the old one must be able to on the new one).
struct identity_move {
    std::string column;
    catalog::qualified_name old_sequence;
    catalog::qualified_name new_sequence;
    sequence_settings settings;
    std::optional<int64_t> floor;
    std::vector<catalog::grant> old_grants, new_grants;
    std::optional<std::string> old_comment, new_comment;
};

// inbound_move: what happens to one inbound foreign key.
struct inbound_move {
    const catalog::foreign_key* fk = nullptr;
    bool repoint = false;                  // else dropped
    bool referencing_partitioned = false;  // NOT VALID FKs are refused there before PostgreSQL 18
};

// swap_inputs: everything read under the lock before the first change.
struct swap_inputs {
    catalog::table_model source;
    catalog::table_model target;
    std::vector<captured_view> views;
    std::vector<std::string> view_notes;
    std::vector<publication_membership> publications;
    std::vector<index_rename> indexes;
    std::vector<identity_move> identities;
    std::vector<inbound_move> inbound;
    std::vector<not_null_rename> not_nulls;  // PostgreSQL 18's named NOT NULL constraints
    captured_dependents dependents;          // rules, policies on other tables, SQL-body functions
};

void check_preconditions(pg::connection& conn, swap_runner& run, const swap_request& req,
                         const catalog::qualified_name& target, bool need_lock) {
    run.step("check");
    if (PQtransactionStatus(conn.native()) != PQTRANS_INTRANS)
        run.fail("not inside an open transaction (the caller must BEGIN and LOCK the source)");
    if (req.old_name.empty() || req.target_table.empty() || req.old_name == req.source.name ||
        req.target_table == req.source.name || req.old_name == req.target_table)
        run.fail("source, target and old names must be three different names");
    const auto src = find_relation(conn, req.source);
    if (!src) run.fail("the source " + display(req.source) + " does not exist");
    // Forward: plain → partitioned, or partitioned → partitioned when re-partitioning (the
    // old root is renamed, its partitions keep their names: the new tree's were named apart
    // from them). Reverting: the partitioned table back to the plain one (a revert window is
    // not offered when re-partitioning).
    const bool source_ok =
        req.reverting ? src->relkind == 'p' : (src->relkind == 'r' || src->relkind == 'p');
    const char target_kind = req.reverting ? 'r' : 'p';
    if (!source_ok)
        run.fail("the source " + display(req.source) + " is not a " +
                 (req.reverting ? "partitioned" : "plain or partitioned") + " table (relkind " +
                 std::string(1, src->relkind) + "); was the swap already done?");
    const auto tgt = find_relation(conn, target);
    if (!tgt || tgt->relkind != target_kind)
        run.fail("the target " + display(target) + " is missing or not a " +
                 (req.reverting ? "plain" : "partitioned") + " table");
    if (need_lock && !holds_access_exclusive(conn, src->oid))
        run.fail("this transaction does not hold ACCESS EXCLUSIVE on " + display(req.source));
    if (name_taken(conn, req.source.schema, req.old_name))
        run.fail("the old name " + req.old_name + " is already taken in schema " +
                 req.source.schema);
}

std::vector<identity_move> read_identities(pg::connection& conn, swap_runner& run,
                                           const catalog::table_model& src,
                                           const catalog::table_model& tgt) {
    std::vector<identity_move> out;
    for (const auto& s : src.sequences) {
        if (!s.identity) continue;
        const auto t = std::find_if(tgt.sequences.begin(), tgt.sequences.end(),
                                    [&](auto& x) { return x.identity && x.column == s.column; });
        if (t == tgt.sequences.end())
            run.fail("identity column " + s.column + " has no identity sequence on the target");
        identity_move m;
        m.column = s.column;
        m.old_sequence = s.name;
        m.new_sequence = t->name;
        m.settings = read_sequence_settings(conn, s.name);
        m.floor = next_identity_floor(conn, s.name, src.name, s.column, m.settings.increment > 0);
        // Read under the lock (swap_tables reads the identities again there): a GRANT on a
        // sequence takes no lock the prepared reads would have waited for.
        const auto old_seq = find_relation(conn, m.old_sequence);
        const auto new_seq = find_relation(conn, m.new_sequence);
        if (!old_seq || !new_seq)
            run.fail("the identity sequence of " + s.column + " vanished while being read");
        m.old_grants = catalog::read_grants(conn, old_seq->oid);
        m.new_grants = catalog::read_grants(conn, new_seq->oid);
        m.old_comment = relation_comment(conn, old_seq->oid);
        m.new_comment = relation_comment(conn, new_seq->oid);
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<inbound_move> decide_inbound(pg::connection& conn, swap_runner& run,
                                         const swap_request& req, const catalog::table_model& src,
                                         const catalog::table_model& tgt) {
    const auto problems = plan::inbound_fk_problems(src, plan::unique_keys(tgt));
    std::vector<inbound_move> out;
    for (const auto& fk : src.inbound_fks) {
        if (fk.table == src.name) continue;  // self-reference: stays on the old table
        // Another table of a multi-table job: its key stays between the old tables, and the
        // partitioned tables have their own (plan::group_plan).
        if (std::find(req.keep_inbound_from.begin(), req.keep_inbound_from.end(), fk.table) !=
            req.keep_inbound_from.end())
            continue;
        const bool stuck = std::any_of(problems.begin(), problems.end(), [&](auto& p) {
            return p.name == fk.name && p.table == fk.table;
        });
        if (stuck && !req.drop_unrepointable_fks)
            run.fail("foreign key " + fk.name + " on " + display(fk.table) + " references (" +
                     [&] {
                         std::string s;
                         for (const auto& c : fk.referenced_columns)
                             s += (s.empty() ? "" : ", ") + c;
                         return s;
                     }() +
                     "), which is not unique on the partitioned table: it cannot be re-pointed "
                     "(drop it, or allow partshift to drop it)");
        out.push_back({&fk, !stuck, relkind_of(conn, fk.table) == 'p'});
    }
    return out;
}

swap_inputs read_inputs(pg::connection& conn, swap_runner& run, const swap_request& req,
                        const catalog::qualified_name& target) {
    run.step("read catalog");
    swap_inputs in;
    // catalog_only: the source is never counted here, under the lock.
    in.source = catalog::inspect_table(conn, req.source, catalog::row_estimate::catalog_only);
    in.target = catalog::inspect_table(conn, target, catalog::row_estimate::catalog_only);
    in.views = capture_views(conn, in.source, in.view_notes);
    in.publications = read_publications(conn, in.source.oid, req.publication_to_skip);
    in.indexes = match_indexes(in.source, in.target, req.target_index_suffix);
    in.identities = read_identities(conn, run, in.source, in.target);
    in.inbound = decide_inbound(conn, run, req, in.source, in.target);
    in.not_nulls = read_not_null_renames(conn, in.source.oid, in.target.oid);
    in.dependents = capture_dependents(conn, in.source.oid, in.target.oid);
    return in;
}

// ---- the steps, each after the renames ----

void rename_tables(swap_runner& run, const swap_request& req, const swap_inputs& in,
                   const catalog::qualified_name& target) {
    pg::connection& conn = run.conn();
    const std::string& schema = req.source.schema;
    run.step("rename the source");
    run.exec(rename_sql("TABLE", req.source, req.old_name));
    run.note("renamed " + display(req.source) + " to " + req.old_name);

    run.step("rename the old table's indexes");
    // Renaming an index renames its PRIMARY KEY / UNIQUE constraint too.
    for (const auto& m : in.indexes) {
        const std::string old = free_name(conn, schema, m.source->name, req.old_suffix);
        run.exec(rename_sql("INDEX", {schema, m.source->name}, old));
    }
    for (const auto& m : in.identities) {
        const std::string old =
            free_name(conn, m.old_sequence.schema, m.old_sequence.name, req.old_suffix);
        run.exec(rename_sql("SEQUENCE", m.old_sequence, old));
    }

    run.step("rename the target");
    run.exec(rename_sql("TABLE", target, req.source.name));
    for (const auto& m : in.indexes)
        run.exec(rename_sql("INDEX", {schema, m.target->name}, m.source->name));
    for (const auto& m : in.identities) {
        const catalog::qualified_name now{m.new_sequence.schema, m.new_sequence.name};
        run.exec(rename_sql("SEQUENCE", now, m.old_sequence.name));
    }
    for (const auto& n : in.not_nulls) run.exec(rename_not_null_sql(req.source, n));
    run.note("renamed " + display(target) + " to " + req.source.name + "; " +
             std::to_string(in.indexes.size()) + " indexes and constraints and " +
             std::to_string(in.identities.size()) + " identity sequences took the old names (" +
             req.old_suffix + " on the old table's)");
}

void move_inbound_fks(swap_runner& run, const swap_inputs& in, swap_outcome& out) {
    run.step("inbound foreign keys");
    for (const auto& m : in.inbound) {
        const std::string who = m.fk->name + " on " + display(m.fk->table);
        if (!m.repoint) {
            run.exec(drop_constraint_sql(*m.fk));
            run.note("dropped foreign key " + who +
                     ": its columns are not unique on the partitioned table");
            continue;
        }
        // NOT VALID keeps the re-check out of the lock; PostgreSQL before 18 refuses NOT VALID
        // on a partitioned referencing table, so that one is checked right here.
        const bool not_valid = !m.referencing_partitioned;
        const auto sql = repoint_fk_sql(*m.fk, not_valid);
        run.exec(sql.drop_sql);
        run.exec(sql.add_sql);
        if (!sql.validate_sql.empty()) out.after_commit_sql.push_back(sql.validate_sql);
        run.note("re-pointed foreign key " + who + " to the partitioned table" +
                 (not_valid ? " (NOT VALID; validated after the commit)" : " (checked now)"));
    }
}

void move_owner(swap_runner& run, const swap_inputs& in, const catalog::qualified_name& table) {
    if (in.target.owner == in.source.owner) return;
    run.step("ownership");
    // Partitions are not reached by ALTER TABLE ... OWNER TO on their parent.
    run.exec(owner_sql("TABLE", relation_sql(table), in.source.owner));
    for (const auto& p : partitions_of(run.conn(), table))
        run.exec(owner_sql("TABLE", relation_sql(p), in.source.owner));
    run.note("owner of " + display(table) + " and its partitions set to " + in.source.owner);
}

// sync_grants: make `have` (the privileges on `rel` now) equal to `want`; the owner's own
// entries are implicit and never touched. Returns (granted, revoked).
std::pair<int, int> sync_grants(swap_runner& run, const std::string& rel,
                                const std::vector<catalog::grant>& want,
                                const std::vector<catalog::grant>& have, const std::string& owner) {
    auto key = [](const catalog::grant& g) {
        return std::tuple(g.grantee, g.privilege, g.column.value_or(""), g.column.has_value(),
                          g.grantable);
    };
    std::set<decltype(key(catalog::grant{}))> wanted, present;
    for (const auto& g : want) wanted.insert(key(g));
    for (const auto& g : have)
        if (g.grantee != owner) present.insert(key(g));
    int revoked = 0, granted = 0;
    // What the target got on its own (default privileges of its creator) goes first.
    for (const auto& g : have)
        if (g.grantee != owner && !wanted.count(key(g))) {
            run.exec(revoke_sql(rel, g));
            ++revoked;
        }
    for (const auto& g : want)
        if (!present.count(key(g))) {
            run.exec(grant_sql(rel, g));
            ++granted;
        }
    return {granted, revoked};
}

void move_grants(swap_runner& run, const swap_inputs& in, const catalog::qualified_name& table) {
    run.step("grants");
    const auto [granted, revoked] =
        sync_grants(run, relation_sql(table), in.source.grants, in.target.grants, in.source.owner);
    if (granted || revoked)
        run.note(std::to_string(granted) + " privileges granted on " + display(table) +
                 (revoked ? ", " + std::to_string(revoked) + " revoked" : ""));
}

void move_comments_and_columns(swap_runner& run, const swap_inputs& in,
                               const catalog::qualified_name& table) {
    run.step("comments and column settings");
    const std::string rel = relation_sql(table);
    int changes = 0;
    // The plan put comments, statistics and storage on the target when it created it; only
    // what changed on the source since then is set here.
    if (in.source.comment != in.target.comment) {
        run.exec(comment_sql("TABLE", rel, in.source.comment));
        ++changes;
    }
    for (const auto& c : in.source.columns) {
        const catalog::column* t = in.target.find_column(c.name);
        if (!t) run.fail("column " + c.name + " is missing on the target");
        const std::string col = rel + "." + pg::quote_ident(c.name);
        if (c.comment != t->comment) {
            run.exec(comment_sql("COLUMN", col, c.comment));
            ++changes;
        }
        if (c.statistics != t->statistics) {
            run.exec(column_statistics_sql(rel, c.name, c.statistics));
            ++changes;
        }
        if (c.storage != '\0' && c.storage != t->storage)
            if (auto sql = column_storage_sql(rel, c.name, c.storage)) {
                run.exec(*sql);
                ++changes;
            }
    }
    // Index comments: the index builder does not set them; the renamed copies take the source's.
    for (const auto& m : in.indexes)
        if (m.source->comment != m.target->comment) {
            run.exec(comment_sql("INDEX", relation_sql({table.schema, m.source->name}),
                                 m.source->comment));
            ++changes;
        }
    if (changes)
        run.note(std::to_string(changes) + " comments and column settings brought up to date");
}

void move_row_security(swap_runner& run, const swap_inputs& in,
                       const catalog::qualified_name& table) {
    run.step("row level security");
    const std::string rel = relation_sql(table);
    int created = 0;
    for (const auto& p : in.source.policies) {
        const bool present = std::any_of(in.target.policies.begin(), in.target.policies.end(),
                                         [&](auto& t) { return t.name == p.name; });
        if (present) continue;
        run.exec(policy_sql(rel, p));
        ++created;
    }
    if (in.source.rls_enabled != in.target.rls_enabled ||
        in.source.rls_forced != in.target.rls_forced)
        run.exec(row_security_sql(rel, in.source.rls_enabled, in.source.rls_forced));
    if (created || in.source.rls_enabled)
        run.note(std::to_string(created) + " policies created; row level security " +
                 (in.source.rls_enabled ? "enabled" : "disabled") +
                 (in.source.rls_forced ? " and forced" : ""));
}

void move_triggers(swap_runner& run, const swap_inputs& in, const catalog::qualified_name& table) {
    run.step("triggers");
    const std::string rel = relation_sql(table);
    for (const auto& t : in.source.triggers) {
        if (t.is_internal) continue;
        const auto existing = std::find_if(in.target.triggers.begin(), in.target.triggers.end(),
                                           [&](auto& x) { return x.name == t.name; });
        // The migrator may have created it on the target already (disabled during the copy).
        const char state = existing == in.target.triggers.end() ? 'O' : existing->enabled_state;
        // The definition names the source by its old name, which is now the partitioned table.
        if (existing == in.target.triggers.end()) run.exec(t.definition);
        if (state != t.enabled_state) run.exec(trigger_state_sql(rel, t.name, t.enabled_state));
        run.note("trigger " + t.name + " on " + display(table) + " (state " +
                 std::string(1, t.enabled_state) + ")");
    }
}

void move_sequences(swap_runner& run, const swap_inputs& in, const catalog::qualified_name& table) {
    run.step("sequences");
    const std::string rel = relation_sql(table);
    for (const auto& s : in.source.sequences) {
        if (s.identity) continue;
        // The target's column has the same DEFAULT nextval(...); owning the sequence keeps it
        // alive when the old table is dropped.
        run.exec(sequence_owner_sql(relation_sql(s.name), rel, s.column));
        run.note("sequence " + display(s.name) + " now owned by " + display(table) + "." +
                 s.column);
    }
    for (const auto& m : in.identities) {
        const std::string seq = relation_sql({m.new_sequence.schema, m.old_sequence.name});
        run.exec(sequence_settings_sql(seq, m.settings));
        if (m.floor)
            run.exec("SELECT pg_catalog.setval($1::regclass, $2::bigint, true)",
                     pg::make_params(seq, *m.floor));
        // Both sequences belong to their table's owner (an identity sequence follows it), so
        // the owner's implicit rights need no grant.
        const auto [granted, revoked] =
            sync_grants(run, seq, m.old_grants, m.new_grants, in.source.owner);
        if (m.old_comment != m.new_comment) run.exec(comment_sql("SEQUENCE", seq, m.old_comment));
        run.note("identity sequence of " + m.column + " continues after " +
                 (m.floor ? std::to_string(*m.floor) : std::string("nothing (never used)")) +
                 (granted || revoked
                      ? "; " + std::to_string(granted) + " privileges granted" +
                            (revoked ? ", " + std::to_string(revoked) + " revoked" : "")
                      : ""));
    }
}

void move_replica_identity(swap_runner& run, const swap_inputs& in,
                           const catalog::qualified_name& table) {
    const char want = in.source.replica_identity;
    if (want == 'd' && in.target.replica_identity == 'd') return;
    run.step("replica identity");
    const std::string rel = relation_sql(table);
    // The parent's setting does not reach its partitions, and a publication that does not
    // publish via the root uses the partitions' own: set both.
    if (want == 'i') {
        const auto it = std::find_if(in.source.indexes.begin(), in.source.indexes.end(),
                                     [](auto& i) { return i.is_replica_identity; });
        const bool moved =
            it != in.source.indexes.end() && std::any_of(in.indexes.begin(), in.indexes.end(),
                                                         [&](auto& m) { return m.source == &*it; });
        if (!moved) run.fail("the replica identity index has no copy on the partitioned table");
        run.exec(replica_identity_sql(rel, 'i', it->name));
        for (const auto& child : index_children(run.conn(), {table.schema, it->name}))
            run.exec(replica_identity_sql(relation_sql(child.table), 'i', child.index));
    } else {
        run.exec(replica_identity_sql(rel, want));
        for (const auto& p : partitions_of(run.conn(), table))
            run.exec(replica_identity_sql(relation_sql(p), want));
    }
    run.note(std::string("replica identity ") +
             (want == 'f'   ? "FULL"
              : want == 'n' ? "NOTHING"
              : want == 'i' ? "USING INDEX"
                            : "DEFAULT") +
             " on " + display(table) + " and its partitions");
}

void move_publications(swap_runner& run, const swap_inputs& in, const swap_request& req,
                       const catalog::qualified_name& table) {
    run.step("publications");
    const std::string rel = relation_sql(table);
    const std::string old = relation_sql({req.source.schema, req.old_name});
    for (const auto& p : in.publications) {
        run.exec(publication_add_sql(p.publication, rel, p.columns_sql, p.where_sql));
        run.exec(publication_drop_sql(p.publication, old));
        run.note("publication " + p.publication + " now lists " + display(table) +
                 (p.via_root ? ""
                             : " (publish_via_partition_root is off: changes are published "
                               "under the partitions' names)"));
    }
}

}  // namespace

namespace {

// catalog_fingerprint: what could change between the reads of prepare_swap (under SHARE
// UPDATE EXCLUSIVE, which DML does not wait for) and the ACCESS EXCLUSIVE lock, because the
// statements that change it take no conflicting lock: privileges (GRANT/REVOKE), comments,
// and the objects depending on either table (a new view, function, policy on another table).
// Everything else the reads see (columns, indexes, triggers, policies, foreign keys, publication
// membership) changes only under a lock that SHARE UPDATE EXCLUSIVE holds off.
std::string catalog_fingerprint(pg::connection& conn, uint32_t source_oid, uint32_t target_oid) {
    return conn
        .query(
            "WITH RECURSIVE deps(oid) AS ("
            "  SELECT DISTINCT r.ev_class FROM pg_catalog.pg_depend d"
            "  JOIN pg_catalog.pg_rewrite r ON d.classid = 'pg_catalog.pg_rewrite'::regclass"
            "   AND r.oid = d.objid"
            "  WHERE d.refclassid = 'pg_catalog.pg_class'::regclass"
            "   AND d.refobjid IN ($1::oid, $2::oid) AND r.ev_class NOT IN ($1::oid, $2::oid)"
            "  UNION"
            "  SELECT r.ev_class FROM deps JOIN pg_catalog.pg_depend d"
            "   ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = deps.oid"
            "  JOIN pg_catalog.pg_rewrite r ON d.classid = 'pg_catalog.pg_rewrite'::regclass"
            "   AND r.oid = d.objid AND r.ev_class <> deps.oid)"
            "SELECT pg_catalog.md5(pg_catalog.concat_ws('|',"
            " (SELECT pg_catalog.string_agg(c.oid || ':' || c.relowner || ':' ||"
            "   coalesce(c.relacl::text, '') , ',' ORDER BY c.oid) FROM pg_catalog.pg_class c"
            "   WHERE c.oid IN ($1::oid, $2::oid)),"
            " (SELECT pg_catalog.string_agg(a.attrelid || ':' || a.attnum || ':' ||"
            "   coalesce(a.attacl::text, ''), ',' ORDER BY a.attrelid, a.attnum)"
            "   FROM pg_catalog.pg_attribute a WHERE a.attrelid IN ($1::oid, $2::oid)"
            "   AND a.attnum > 0 AND a.attacl IS NOT NULL),"
            " (SELECT pg_catalog.string_agg(d.objoid || ':' || d.objsubid || ':' ||"
            "   d.description, ',' ORDER BY d.objoid, d.objsubid)"
            "   FROM pg_catalog.pg_description d WHERE d.classoid = 'pg_catalog.pg_class'::regclass"
            "   AND d.objoid IN (SELECT $1::oid UNION SELECT $2::oid UNION"
            "    SELECT i.indexrelid FROM pg_catalog.pg_index i"
            "    WHERE i.indrelid IN ($1::oid, $2::oid))),"
            " (SELECT pg_catalog.string_agg(oid::text, ',' ORDER BY oid) FROM deps),"
            // Every object depending on the source or its row type (SQL-body functions,
            // policies on other tables, columns using the row type): none takes a lock on it.
            // With the xmin of a function's, policy's or rule's row: replacing one keeps its
            // dependencies, and the swap must not put back the text it read before.
            " (SELECT pg_catalog.string_agg(d.classid || ':' || d.objid || ':' || d.objsubid"
            "   || ':' || coalesce(CASE d.classid"
            "    WHEN 'pg_catalog.pg_proc'::regclass THEN (SELECT x.xmin::text"
            "     FROM pg_catalog.pg_proc x WHERE x.oid = d.objid)"
            "    WHEN 'pg_catalog.pg_policy'::regclass THEN (SELECT x.xmin::text"
            "     FROM pg_catalog.pg_policy x WHERE x.oid = d.objid)"
            "    WHEN 'pg_catalog.pg_rewrite'::regclass THEN (SELECT x.xmin::text"
            "     FROM pg_catalog.pg_rewrite x WHERE x.oid = d.objid) END, ''), ','"
            "   ORDER BY d.classid, d.objid, d.objsubid) FROM pg_catalog.pg_depend d"
            "   WHERE d.deptype = 'n' AND ((d.refclassid = 'pg_catalog.pg_class'::regclass"
            "   AND d.refobjid = $1::oid) OR (d.refclassid = 'pg_catalog.pg_type'::regclass"
            "   AND d.refobjid = (SELECT c.reltype FROM pg_catalog.pg_class c"
            "    WHERE c.oid = $1::oid))))))",
            std::to_string(source_oid), std::to_string(target_oid))
        .get(0, 0);
}

}  // namespace

struct swap_preparation::state {
    swap_inputs inputs;
    std::string saved_search_path;
    std::string fingerprint;
};

swap_preparation::swap_preparation() = default;
swap_preparation::~swap_preparation() = default;
swap_preparation::swap_preparation(swap_preparation&&) noexcept = default;
swap_preparation& swap_preparation::operator=(swap_preparation&&) noexcept = default;

swap_preparation prepare_swap(pg::connection& conn, const swap_request& req) {
    swap_preparation prep;
    prep.state_ = std::make_unique<swap_preparation::state>();
    std::vector<std::string> ignored;
    swap_runner run(conn, ignored);
    const catalog::qualified_name target{req.source.schema, req.target_table};
    check_preconditions(conn, run, req, target, false);
    // Every text read from the catalog below (view, trigger, policy and FK definitions) comes
    // out schema-qualified under an empty search_path, and every statement runs under it too,
    // so a name means the same when the text is read (before the renames) and when it runs
    // (after them, when the source's name is the partitioned table's). LOCAL: it ends with the
    // caller's transaction; it is restored by the swap for the caller's own statements.
    prep.state_->saved_search_path =
        conn.exec("SELECT pg_catalog.current_setting('search_path')").get(0, 0);
    run.exec("SET LOCAL search_path = ''");
    prep.state_->inputs = read_inputs(conn, run, req, target);
    prep.state_->fingerprint =
        catalog_fingerprint(conn, prep.state_->inputs.source.oid, prep.state_->inputs.target.oid);
    run.step("done");
    return prep;
}

swap_outcome swap_tables(pg::connection& conn, const swap_request& req,
                         swap_preparation* prepared) {
    swap_preparation local;
    if (!prepared) {
        local = prepare_swap(conn, req);
        prepared = &local;
    }
    auto& st = *prepared->state_;
    swap_outcome out;
    swap_runner run(conn, out.steps);
    const catalog::qualified_name target{req.source.schema, req.target_table};
    run.step("check the lock");
    if (!holds_access_exclusive(conn, st.inputs.source.oid))
        run.fail("this transaction does not hold ACCESS EXCLUSIVE on " + display(req.source));
    // Read before the lock: valid unless a privilege, a comment or a dependent view changed
    // in between (the only changes the weaker lock let through); then read again, now.
    if (catalog_fingerprint(conn, st.inputs.source.oid, st.inputs.target.oid) != st.fingerprint) {
        spdlog::info("cutover: the catalog changed since the swap was prepared; reading it again");
        if (req.recheck_schema) req.recheck_schema(conn);
        st.inputs = read_inputs(conn, run, req, target);
    } else {
        // Identity sequences move with every insert until the lock: their floors are read now.
        st.inputs.identities = read_identities(conn, run, st.inputs.source, st.inputs.target);
    }
    const swap_inputs& in = st.inputs;
    for (const auto& n : in.view_notes) run.note(n);

    rename_tables(run, req, in, target);
    const catalog::qualified_name& table = req.source;  // now the partitioned table
    // Inbound FKs first: they lock other tables, so a lock timeout comes before any costly
    // step (a materialized view's refresh) rather than after it.
    move_inbound_fks(run, in, out);
    move_owner(run, in, table);
    move_grants(run, in, table);
    move_comments_and_columns(run, in, table);
    move_row_security(run, in, table);
    move_triggers(run, in, table);
    move_sequences(run, in, table);
    move_replica_identity(run, in, table);
    carry_views(run, in.views, st.saved_search_path);
    carry_dependents(run, in.dependents, table);
    move_publications(run, in, req, table);

    run.step("restore search_path");
    run.exec("SELECT pg_catalog.set_config('search_path', $1, true)",
             pg::make_params(st.saved_search_path));
    run.step("done");  // logs the last step's time
    return out;
}

void finish_after_commit(pg::connection& conn, const swap_outcome& outcome) {
    for (const auto& sql : outcome.after_commit_sql) {
        try {
            conn.exec(sql);
        } catch (const std::exception& e) {
            // The swap is committed; a constraint left NOT VALID still guards new rows.
            spdlog::warn("after the swap, '{}' failed: {}; run it by hand", sql, e.what());
        }
    }
}

}  // namespace partshift::cutover
