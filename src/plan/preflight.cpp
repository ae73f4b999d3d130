// preflight: reads server settings, role attributes, privileges and a few data counts, then
// judges them. The judging (evaluate_preflight) is pure; only read_server_facts talks to the
// server, and only with reads. Must not create, alter or lock anything beyond what a SELECT
// takes.
#include "partshift/plan/preflight.hpp"

#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "partshift/catalog/table_name.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/fk_rules.hpp"

namespace partshift::plan {

using pg::quote_ident;

namespace {

// minimum_server_version: pgoutput's `messages` option (the cutover fence) is PostgreSQL 14+.
constexpr int minimum_server_version = 140000;

// version_text: 150004 -> "15.4" (the numbering since PostgreSQL 10).
std::string version_text(int version) {
    return std::to_string(version / 10000) + "." + std::to_string(version % 10000);
}

preflight_check pass(std::string name, std::string message) {
    return {std::move(name), true, false, std::move(message)};
}
preflight_check fail(std::string name, std::string message) {
    return {std::move(name), false, true, std::move(message)};
}
preflight_check warn(std::string name, std::string message) {
    return {std::move(name), false, false, std::move(message)};
}

std::vector<const level_spec*> levels_of(const partition_spec& spec) {
    std::vector<const level_spec*> out{&spec.level1};
    if (spec.level2) out.push_back(&*spec.level2);
    return out;
}

// has_default_at: whether the plan has a DEFAULT partition on level 1 (no parent) or level 2.
bool has_default_at(const target_plan& plan, int level) {
    return std::any_of(plan.partitions.begin(), plan.partitions.end(), [&](const partition& p) {
        return p.bound_sql == "DEFAULT" && p.parent.has_value() == (level == 2);
    });
}

// count_outside counts rows whose key is not in an explicit list. The values reach the server
// as parameters and are cast to the key's own type, so '01' and '1' mean the same for an int.
int64_t count_outside(pg::connection& conn, const std::string& relation, const catalog::column& key,
                      const std::vector<std::string>& values) {
    const std::string col = quote_ident(key.name);
    std::string array = "ARRAY[";
    for (std::size_t i = 0; i < values.size(); ++i)
        array += (i ? ", $" : "$") + std::to_string(i + 1) + "::text";
    // type_name is the server's format_type() output, a valid type expression.
    array += "]::" + key.type_name + "[]";
    pg::param_list params(values.begin(), values.end());
    return conn
        .exec("SELECT count(*) FROM " + relation + " WHERE " + col + " IS NOT NULL AND " + col +
                  " <> ALL (" + array + ")",
              params)
        .get_int(0, 0);
}

// replica_identity_beside_primary_key: the replica identity index when the table names one
// other than its primary key (REPLICA IDENTITY USING INDEX on another unique index).
const catalog::index* replica_identity_beside_primary_key(const catalog::table_model& table) {
    if (table.replica_identity != 'i' || !table.primary_key()) return nullptr;
    for (const auto& i : table.indexes)
        if (i.is_replica_identity && !i.is_primary) return &i;
    return nullptr;
}

// taken_names_fix: how to free the taken names. Partitions are named after the table's final
// name (not --target-name), so when only they or their indexes are taken, the fix is to drop
// the tree that holds them, named exactly.
std::string taken_names_fix(const server_facts& f, const target_plan& plan) {
    const bool target_taken = std::find(f.taken_names.begin(), f.taken_names.end(),
                                        plan.target.name) != f.taken_names.end();
    std::string fix;
    if (!f.taken_by.empty())
        fix = fmt::format(
            "they belong to {0} (a partitioned table left by an earlier migration, e.g. kept by a "
            "revert): drop it (DROP TABLE {0}) or rename its partitions",
            fmt::join(f.taken_by, ", "));
    else
        fix = "drop or rename them";
    if (target_taken) fix += ", or choose another --target-name";
    return fix;
}

}  // namespace

server_facts read_role_facts(pg::connection& conn, const catalog::table_model& table) {
    server_facts f;
    f.server_version = conn.server_version();
    // has_parameter_privilege (GRANT SET ON PARAMETER) is PostgreSQL 15+; before that only a
    // superuser may set session_replication_role.
    const std::string set_role_privilege =
        f.server_version >= 150000
            ? "r.rolsuper OR has_parameter_privilege('session_replication_role', 'SET')"
            : "r.rolsuper";
    auto r = conn.query(
        "SELECT current_setting('wal_level') AS wal_level, "
        "  current_setting('max_replication_slots')::int AS max_slots, "
        "  (SELECT count(*) FROM pg_catalog.pg_replication_slots) AS used_slots, "
        "  current_setting('max_wal_senders')::int AS max_senders, "
        "  (SELECT count(*) FROM pg_catalog.pg_stat_activity "
        "    WHERE backend_type = 'walsender') AS used_senders, "
        "  current_user AS usr, pg_catalog.current_database() AS db, r.rolsuper, "
        "  r.rolreplication, "
        "  has_database_privilege(current_database(), 'CREATE') AS db_create, "
        "  has_schema_privilege($1::text, 'CREATE') AS schema_create, "
        "  pg_has_role(current_user, $2::text, 'USAGE') AS owns, "
        "  pg_catalog.has_table_privilege($3::oid, 'SELECT') AS can_read, "
        "  " +
            set_role_privilege +
            " AS set_role "
            "FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
        table.name.schema, table.owner, std::to_string(table.oid));
    f.wal_level = r.get(0, "wal_level");
    f.max_replication_slots = static_cast<int>(r.get_int(0, "max_slots"));
    f.used_replication_slots = static_cast<int>(r.get_int(0, "used_slots"));
    f.max_wal_senders = static_cast<int>(r.get_int(0, "max_senders"));
    f.used_wal_senders = static_cast<int>(r.get_int(0, "used_senders"));
    f.user = r.get(0, "usr");
    f.database = r.get(0, "db");
    f.superuser = r.get_bool(0, "rolsuper");
    f.replication = r.get_bool(0, "rolreplication");
    f.can_create_in_database = r.get_bool(0, "db_create");
    f.can_create_in_schema = r.get_bool(0, "schema_create");
    f.owns_table = r.get_bool(0, "owns");
    f.can_set_replication_role = r.get_bool(0, "set_role");
    f.can_read_table = r.get_bool(0, "can_read");
    return f;
}

server_facts read_server_facts(pg::connection& conn, const catalog::table_model& table,
                               const partition_spec& spec, const target_plan& plan) {
    server_facts f = read_role_facts(conn, table);
    const std::string relation = qualified(table.name);
    for (const level_spec* level : levels_of(spec)) {
        const catalog::column* key = table.find_column(level->key);
        if (!key || key->not_null) continue;
        if (std::any_of(f.nullable_keys.begin(), f.nullable_keys.end(),
                        [&](const key_nulls& k) { return k.column == key->name; }))
            continue;
        // Bounded: stops at the limit instead of counting every NULL of a huge table.
        auto n = conn.exec("SELECT count(*) FROM (SELECT 1 FROM " + relation + " WHERE " +
                           quote_ident(key->name) + " IS NULL LIMIT " +
                           std::to_string(null_count_limit) + ") n");
        f.nullable_keys.push_back({key->name, n.get_int(0, 0)});
    }

    for (int level_no : {1, 2}) {
        const level_spec* level =
            level_no == 1 ? &spec.level1 : (spec.level2 ? &*spec.level2 : nullptr);
        if (!level || level->method != partition_method::list || level->values.empty()) continue;
        if (has_default_at(plan, level_no)) continue;
        const catalog::column* key = table.find_column(level->key);
        if (!key) continue;
        (level_no == 1 ? f.level1_outside : f.level2_outside) =
            count_outside(conn, relation, *key, level->values);
    }

    // Relations and indexes share one namespace per schema; tables also need a free type name.
    std::vector<std::string> relations{plan.target.name}, indexes;
    for (const auto& p : plan.partitions) relations.push_back(p.name);
    for (const auto& i : plan.indexes) indexes.push_back(i.name);
    std::vector<std::string> all = relations;
    all.insert(all.end(), indexes.begin(), indexes.end());
    std::string placeholders;
    pg::param_list params{plan.target.schema};
    for (const auto& n : all) {
        params.push_back(n);
        placeholders += (placeholders.empty() ? "$" : ", $") + std::to_string(params.size());
    }
    // With each taken name, the partitioned table it is a partition (or a partition's index)
    // of: partitions are named after the table's final name, so a tree left by an earlier
    // migration of the same table (a revert keeps one) takes exactly these names.
    auto taken = conn.exec(
        "SELECT w.name, (SELECT pg_catalog.quote_ident(rn.nspname) || '.' || "
        "                       pg_catalog.quote_ident(r.relname) "
        "   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "   LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = c.oid "
        "   JOIN pg_catalog.pg_class r "
        "     ON r.oid = pg_catalog.pg_partition_root(coalesce(x.indrelid, c.oid)) "
        "   JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace "
        "   WHERE n.nspname = $1 AND c.relname = w.name AND r.oid <> c.oid) "
        "FROM unnest(ARRAY[" +
            placeholders +
            "]::text[]) WITH ORDINALITY w(name, i) "
            "WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
            "              ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = w.name) "
            "   OR (w.i <= " +
            std::to_string(relations.size()) +
            " AND EXISTS ("
            "       SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n "
            "       ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = w.name)) "
            "ORDER BY w.i",
        params);
    for (int i = 0; i < taken.rows(); ++i) {
        f.taken_names.push_back(taken.get(i, 0));
        if (auto owner = taken.opt(i, 1);
            owner && std::find(f.taken_by.begin(), f.taken_by.end(), *owner) == f.taken_by.end())
            f.taken_by.push_back(*owner);
    }
    f.owner_code = read_owner_code(conn, table);
    f.dependents = read_dependents(conn, table);
    return f;
}

// check_partition_identities (re-partitioning): the source is published through its root, but
// each leaf writes its own old key to the WAL, by its own replica identity (PostgreSQL 15 does
// not inherit REPLICA IDENTITY USING INDEX). A leaf without one would fail the application's
// UPDATEs and DELETEs once published; a leaf whose identity is not the source key would send
// old keys partshift cannot match.
static preflight_check check_partition_identities(const catalog::table_model& table) {
    const catalog::index* key = table.apply_key();
    std::vector<std::string> wanted = key ? key->key_columns : std::vector<std::string>{};
    std::sort(wanted.begin(), wanted.end());
    for (const auto& p : table.partitions) {
        if (p.relkind == 'p' || p.replica_identity == 'f') continue;
        std::vector<std::string> have = p.identity_columns;
        std::sort(have.begin(), have.end());
        if (!have.empty() && have == wanted) continue;
        const std::string leaf = qualified(p.name);
        return fail("partition_identity",
                    "partition " + leaf + " has " +
                        (have.empty() ? std::string("no replica identity")
                                      : "a replica identity other than the key of " +
                                            qualified(table.name)) +
                        ": once published, its UPDATEs and DELETEs would fail or carry keys "
                        "partshift cannot match; ALTER TABLE " +
                        leaf +
                        " REPLICA IDENTITY USING INDEX <its index on the key>, or REPLICA "
                        "IDENTITY FULL");
    }
    return pass("partition_identity", "every partition of " + qualified(table.name) +
                                          " sends the key of its changed rows");
}

// evaluate_role_checks: what the server and the role must allow, one rule per fact. A flat
// rule table (issue 19 keeps those whole): each rule is a pass or a fail with its fix.
std::vector<preflight_check> evaluate_role_checks(const server_facts& f,
                                                  const catalog::table_model& table) {
    std::vector<preflight_check> out;
    const std::string rel = qualified(table.name);
    const std::string user = quote_ident(f.user);

    if (f.server_version < minimum_server_version)
        out.push_back(fail("server_version", "PostgreSQL " + version_text(f.server_version) +
                                                 " is too old: partshift needs 14 or later"));
    else
        out.push_back(pass("server_version", "PostgreSQL " + version_text(f.server_version)));

    if (f.wal_level == "logical")
        out.push_back(pass("wal_level", "wal_level is logical"));
    else
        out.push_back(fail("wal_level", "wal_level is " + f.wal_level +
                                            ": set wal_level = logical in postgresql.conf and "
                                            "restart the server"));

    const int free_slots = f.max_replication_slots - f.used_replication_slots;
    if (free_slots >= 1)
        out.push_back(pass("replication_slots", std::to_string(free_slots) + " of " +
                                                    std::to_string(f.max_replication_slots) +
                                                    " replication slots free"));
    else
        out.push_back(
            fail("replication_slots",
                 "no free replication slot (" + std::to_string(f.used_replication_slots) +
                     " of max_replication_slots = " + std::to_string(f.max_replication_slots) +
                     " in use): drop an unused slot or raise max_replication_slots "
                     "and restart"));

    const int free_senders = f.max_wal_senders - f.used_wal_senders;
    if (free_senders >= 1)
        out.push_back(pass("wal_senders", std::to_string(free_senders) + " of " +
                                              std::to_string(f.max_wal_senders) +
                                              " WAL senders free"));
    else
        out.push_back(
            fail("wal_senders", "no free WAL sender (" + std::to_string(f.used_wal_senders) +
                                    " of max_wal_senders = " + std::to_string(f.max_wal_senders) +
                                    " in use): raise max_wal_senders and restart"));

    if (f.superuser || f.replication)
        out.push_back(
            pass("replication_privilege",
                 "role " + user + (f.superuser ? " is a superuser" : " has REPLICATION")));
    else
        out.push_back(fail("replication_privilege", "role " + user +
                                                        " cannot stream changes: ALTER ROLE " +
                                                        user + " REPLICATION (as a superuser)"));

    if (f.can_create_in_database)
        out.push_back(pass("database_create", "role " + user + " may create publications"));
    else
        out.push_back(fail("database_create",
                           "role " + user +
                               " cannot create the publication and partshift's state schema: "
                               "GRANT CREATE ON DATABASE " +
                               quote_ident(f.database) + " TO " + user));

    if (f.can_create_in_schema)
        out.push_back(pass("schema_create", "role " + user + " may create tables in schema " +
                                                quote_ident(table.name.schema)));
    else
        out.push_back(
            fail("schema_create", "role " + user + " cannot create the target in schema " +
                                      quote_ident(table.name.schema) + ": GRANT CREATE ON SCHEMA " +
                                      quote_ident(table.name.schema) + " TO " + user));

    if (f.owns_table)
        out.push_back(pass("table_owner", "role " + user + " owns " + rel));
    else
        out.push_back(fail("table_owner", "role " + user + " does not own " + rel + " (owner " +
                                              quote_ident(table.owner) +
                                              "), needed to publish it and rename it at cutover: "
                                              "GRANT " +
                                              quote_ident(table.owner) + " TO " + user));

    if (f.can_set_replication_role)
        out.push_back(
            pass("session_replication_role", "role " + user + " may set session_replication_role"));
    else
        out.push_back(fail("session_replication_role",
                           "role " + user +
                               " cannot set session_replication_role (needed so triggers and "
                               "foreign keys do not fire twice on the target): GRANT SET ON "
                               "PARAMETER session_replication_role TO " +
                               user + " (PostgreSQL 15+) or use a superuser"));

    if (f.can_read_table)
        out.push_back(pass("table_select", "role " + user + " may read " + rel));
    else
        out.push_back(fail("table_select", "role " + user + " cannot read " + rel +
                                               ", which the plan and the copy do: GRANT SELECT "
                                               "ON " +
                                               rel + " TO " + user));
    return out;
}

// check_replica_key: the key the stream sends for UPDATEs and DELETEs is the one partshift
// matches rows by.
static preflight_check check_replica_key(const catalog::table_model& table) {
    const std::string rel = qualified(table.name);
    if (table.replica_identity == 'n')
        return fail("replica_key", rel +
                                       " has REPLICA IDENTITY NOTHING: once published, its "
                                       "UPDATEs and DELETEs would fail; ALTER TABLE " +
                                       rel + " REPLICA IDENTITY DEFAULT");
    if (const catalog::index* other = replica_identity_beside_primary_key(table))
        // pgoutput sends the replica identity's columns as the old key and partshift matches
        // rows by the primary key: a DELETE would carry no primary key, and a primary-key
        // change that leaves the index's columns alone no old key at all (skipped, silently).
        return fail("replica_key",
                    rel + " has REPLICA IDENTITY USING INDEX " + quote_ident(other->name) +
                        ", but partshift matches changes by the primary key " +
                        quote_ident(table.primary_key()->name) + ": ALTER TABLE " + rel +
                        " REPLICA IDENTITY DEFAULT for the migration, and set it on the "
                        "partitioned table after the cutover");
    if (const catalog::index* key = table.apply_key())
        return pass("replica_key",
                    std::string(key->is_primary ? "primary key " : "replica identity index ") +
                        quote_ident(key->name) + " identifies rows");
    return fail("replica_key", rel +
                                   " has no primary key or replica identity index, so changes "
                                   "cannot be matched to rows: ALTER TABLE " +
                                   rel + " ADD PRIMARY KEY (...), or ALTER TABLE " + rel +
                                   " REPLICA IDENTITY USING INDEX <unique index on NOT NULL "
                                   "columns>");
}

// check_partition_keys_not_null: the target's primary key includes the partition key, so its
// columns are NOT NULL there.
static std::vector<preflight_check> check_partition_keys_not_null(
    const server_facts& f, const catalog::table_model& table) {
    const std::string rel = qualified(table.name);
    std::vector<preflight_check> out;
    for (const auto& k : f.nullable_keys) {
        const std::string col = quote_ident(k.column);
        if (k.count > 0)
            out.push_back(fail("partition_key_not_null",
                               (k.count >= null_count_limit ? "at least " : "") +
                                   std::to_string(k.count) + " rows have a NULL " + col +
                                   ", which no partition can take: UPDATE " + rel + " SET " + col +
                                   " = ... WHERE " + col + " IS NULL, then ALTER TABLE " + rel +
                                   " ALTER COLUMN " + col + " SET NOT NULL"));
        else
            out.push_back(warn("partition_key_not_null",
                               "partition key " + col +
                                   " allows NULL (none today); a NULL written during the "
                                   "migration would stop it: ALTER TABLE " +
                                   rel + " ALTER COLUMN " + col + " SET NOT NULL"));
    }
    if (out.empty())
        out.push_back(pass("partition_key_not_null", "partition key columns are NOT NULL"));
    return out;
}

// check_rows_outside_partitions: rows (today's, or values written during the migration) that
// no LIST partition takes.
static std::vector<preflight_check> check_rows_outside_partitions(const server_facts& f,
                                                                  const partition_spec& spec,
                                                                  const target_plan& plan) {
    std::vector<preflight_check> out;
    for (const auto& [level, count, option] :
         {std::tuple{&spec.level1, f.level1_outside, "--values"},
          std::tuple{spec.level2 ? &*spec.level2 : nullptr, f.level2_outside, "--subvalues"}}) {
        if (!level || !count || *count == 0) continue;
        out.push_back(fail("rows_outside_partitions",
                           std::to_string(*count) + " rows have a " + quote_ident(level->key) +
                               " not in " + option +
                               " and there is no default partition: add the missing values to " +
                               option + " or use --default-partition"));
    }
    for (int level_no : {1, 2}) {
        const level_spec* level =
            level_no == 1 ? &spec.level1 : (spec.level2 ? &*spec.level2 : nullptr);
        if (!level || level->method != partition_method::list || !level->values.empty() ||
            has_default_at(plan, level_no))
            continue;
        out.push_back(warn("rows_outside_partitions",
                           "the values of " + quote_ident(level->key) +
                               " were discovered from today's data and there is no default "
                               "partition: a new value written during the migration would stop "
                               "it; consider --default-partition"));
    }
    if (out.empty()) out.push_back(pass("rows_outside_partitions", "every row has a partition"));
    return out;
}

// check_inbound_foreign_keys: re-pointable only through a unique key of the target on exactly
// the referenced columns; the cutover uses the same rule (plan/fk_rules).
static preflight_check check_inbound_foreign_keys(const catalog::table_model& table,
                                                  const target_plan& plan,
                                                  const preflight_options& options) {
    const std::string rel = qualified(table.name);
    if (table.inbound_fks.empty())
        return pass("inbound_foreign_keys", "no foreign keys reference " + rel);
    std::vector<std::string> stuck;
    for (const auto& fk : inbound_fk_problems(table, planned_unique_keys(table, plan)))
        stuck.push_back(quote_ident(fk.name) + " on " + qualified(fk.table));
    const std::string found =
        std::to_string(table.inbound_fks.size()) + " foreign key(s) reference " + rel;
    if (stuck.empty())
        return warn("inbound_foreign_keys",
                    found + "; cutover re-points them to the partitioned table");
    if (options.drop_unrepointable_fks)
        return warn("inbound_foreign_keys",
                    fmt::format("{}; these cannot be re-pointed (their columns are not unique on "
                                "the partitioned table) and cutover drops them, as asked: {}",
                                found, fmt::join(stuck, ", ")));
    return fail("inbound_foreign_keys",
                fmt::format("{}; these cannot be re-pointed (their columns are not unique on the "
                            "partitioned table): {} — drop them first, or let cutover drop them "
                            "(--drop-unrepointable-fks)",
                            found, fmt::join(stuck, ", ")));
}

static preflight_check check_target_names(const server_facts& f, const target_plan& plan) {
    if (f.taken_names.empty())
        return pass("target_names", "target " + qualified(plan.target) +
                                        " and its partition and index names are free");
    return fail("target_names",
                fmt::format("already taken in schema {}: {} — {}", quote_ident(plan.target.schema),
                            fmt::join(f.taken_names, ", "), taken_names_fix(f, plan)));
}

// evaluate_preflight: one check per rule, in the order the report shows them.
std::vector<preflight_check> evaluate_preflight(const server_facts& f,
                                                const catalog::table_model& table,
                                                const partition_spec& spec, const target_plan& plan,
                                                const preflight_options& options) {
    std::vector<preflight_check> out = evaluate_role_checks(f, table);
    auto append = [&out](std::vector<preflight_check> checks) {
        for (auto& c : checks) out.push_back(std::move(c));
    };
    out.push_back(check_replica_key(table));
    if (!table.partitions.empty()) out.push_back(check_partition_identities(table));
    append(check_partition_keys_not_null(f, table));
    append(check_rows_outside_partitions(f, spec, plan));
    out.push_back(check_inbound_foreign_keys(table, plan, options));
    out.push_back(check_target_names(f, plan));
    out.push_back(evaluate_owner_code(f.owner_code, table.name, options.trust_table_owner));
    out.push_back(
        evaluate_dependents(f.dependents, table.name, options.allow_uncarried_dependents));
    out.push_back(evaluate_naming_triggers(f.dependents, table.name));
    return out;
}

std::vector<preflight_check> run_preflight(pg::connection& conn, const catalog::table_model& table,
                                           const partition_spec& spec, const target_plan& plan,
                                           const preflight_options& options) {
    return evaluate_preflight(read_server_facts(conn, table, spec, plan), table, spec, plan,
                              options);
}

const preflight_check* first_fatal_failure(const std::vector<preflight_check>& checks,
                                           bool resumed) {
    for (const auto& c : checks)
        if (!c.ok && c.fatal && (c.on_resume || !resumed)) return &c;
    return nullptr;
}

std::vector<std::string> fatal_failure_lines(const std::vector<preflight_check>& checks,
                                             bool resumed, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& c : checks)
        if (!c.ok && c.fatal && (c.on_resume || !resumed))
            out.push_back("preflight failed: " + prefix + c.message);
    return out;
}

void require_readable_table(pg::connection& conn, const catalog::table_model& table) {
    const server_facts f = read_role_facts(conn, table);
    if (f.can_read_table) return;
    // Every line in one message: the CLI prints each as a line of its own.
    std::string message;
    for (const auto& line : fatal_failure_lines(evaluate_role_checks(f, table)))
        message += (message.empty() ? "" : "\n") + line;
    throw preflight_error(message);
}

}  // namespace partshift::plan
