// Unit tests for plan::evaluate_preflight (no server): each verdict and its fix, from facts.
#include <gtest/gtest.h>

#include "partshift/plan/preflight.hpp"

using namespace partshift;
using namespace partshift::plan;

namespace {

catalog::table_model events_table() {
    catalog::table_model t;
    t.name = {"billing", "events"};
    t.owner = "app";
    catalog::column id;
    id.name = "id";
    id.not_null = true;
    catalog::column ts;
    ts.name = "ts";
    ts.not_null = true;
    t.columns = {id, ts};
    catalog::index pk;
    pk.name = "events_pkey";
    pk.is_primary = pk.is_unique = true;
    pk.key_columns = {"id"};
    t.indexes = {pk};
    return t;
}

partition_spec range_spec() {
    partition_spec s;
    s.level1.method = partition_method::range;
    s.level1.key = "ts";
    s.level1.interval = "1 month";
    return s;
}

target_plan plan_for(const catalog::table_model& t) {
    target_plan p;
    p.source = t.name;
    p.target = {t.name.schema, t.name.name + "_new"};
    return p;
}

server_facts healthy() {
    server_facts f;
    f.server_version = 150004;
    f.wal_level = "logical";
    f.max_replication_slots = 10;
    f.max_wal_senders = 10;
    f.user = "app";
    f.database = "shop";
    f.replication = true;
    f.can_read_table = true;
    f.can_create_in_database = f.can_create_in_schema = f.owns_table = true;
    f.can_set_replication_role = true;
    return f;
}

const preflight_check& find(const std::vector<preflight_check>& checks, const std::string& name) {
    for (const auto& c : checks)
        if (c.name == name) return c;
    throw std::runtime_error("no check " + name);
}

}  // namespace

TEST(PlanPreflight, HealthyServerPassesEverything) {
    auto t = events_table();
    auto checks = evaluate_preflight(healthy(), t, range_spec(), plan_for(t));
    for (const auto& c : checks) EXPECT_TRUE(c.ok) << c.name << ": " << c.message;
    EXPECT_EQ(first_fatal_failure(checks), nullptr);
}

TEST(PlanPreflight, WalLevelReplicaIsFatalWithTheFix) {
    auto t = events_table();
    auto f = healthy();
    f.wal_level = "replica";
    auto checks = evaluate_preflight(f, t, range_spec(), plan_for(t));
    const auto& c = find(checks, "wal_level");
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(c.fatal);
    EXPECT_EQ(c.message,
              "wal_level is replica: set wal_level = logical in postgresql.conf and restart the "
              "server");
    EXPECT_EQ(first_fatal_failure(checks), &c);
}

TEST(PlanPreflight, NoFreeSlotOrSender) {
    auto t = events_table();
    auto f = healthy();
    f.used_replication_slots = 10;
    f.used_wal_senders = 10;
    auto checks = evaluate_preflight(f, t, range_spec(), plan_for(t));
    EXPECT_FALSE(find(checks, "replication_slots").ok);
    EXPECT_NE(find(checks, "replication_slots").message.find("max_replication_slots"),
              std::string::npos);
    EXPECT_FALSE(find(checks, "wal_senders").ok);
    EXPECT_TRUE(find(checks, "wal_senders").fatal);
}

TEST(PlanPreflight, PrivilegesSayWhatToGrant) {
    auto t = events_table();
    auto f = healthy();
    f.user = "Web User";
    f.replication = false;
    f.can_create_in_schema = false;
    f.owns_table = false;
    f.can_set_replication_role = false;
    auto checks = evaluate_preflight(f, t, range_spec(), plan_for(t));
    EXPECT_EQ(find(checks, "replication_privilege").message,
              "role \"Web User\" cannot stream changes: ALTER ROLE \"Web User\" REPLICATION (as a "
              "superuser)");
    EXPECT_NE(find(checks, "schema_create").message.find("GRANT CREATE ON SCHEMA billing TO"),
              std::string::npos);
    EXPECT_NE(find(checks, "table_owner").message.find("GRANT app TO \"Web User\""),
              std::string::npos);
    EXPECT_NE(find(checks, "session_replication_role").message.find("GRANT SET ON PARAMETER"),
              std::string::npos);
    for (auto name :
         {"replication_privilege", "schema_create", "table_owner", "session_replication_role"})
        EXPECT_TRUE(find(checks, name).fatal) << name;
}

// issue 21 item 4: the fix names the database (it said "<this database>"), and a role that may
// not read the table is told which GRANT it needs.
TEST(PlanPreflight, FixesNameTheDatabaseAndTheTableToGrant) {
    auto t = events_table();
    auto f = healthy();
    f.user = "bob";
    f.database = "Shop DB";
    f.can_create_in_database = false;
    f.can_read_table = false;
    auto checks = evaluate_preflight(f, t, range_spec(), plan_for(t));
    EXPECT_EQ(find(checks, "database_create").message,
              "role bob cannot create the publication and partshift's state schema: GRANT "
              "CREATE ON DATABASE \"Shop DB\" TO bob");
    EXPECT_EQ(find(checks, "table_select").message,
              "role bob cannot read billing.events, which the plan and the copy do: GRANT SELECT "
              "ON billing.events TO bob");
    EXPECT_TRUE(find(checks, "table_select").fatal);
}

// issue 21 item 4: every fatal failure at once, one line each, in the checks' order; warnings
// and passes are not listed.
TEST(PlanPreflight, FailureLinesListEveryFatalFailure) {
    auto t = events_table();
    auto f = healthy();
    f.user = "bob";
    f.replication = false;
    f.owns_table = false;
    f.can_set_replication_role = false;
    auto checks = evaluate_preflight(f, t, range_spec(), plan_for(t));
    const auto lines = fatal_failure_lines(checks, false, "public.orders: ");
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0],
              "preflight failed: public.orders: " + find(checks, "replication_privilege").message);
    EXPECT_EQ(lines[1], "preflight failed: public.orders: " + find(checks, "table_owner").message);
    EXPECT_EQ(lines[2], "preflight failed: public.orders: " +
                            find(checks, "session_replication_role").message);
    EXPECT_TRUE(
        fatal_failure_lines(evaluate_preflight(healthy(), t, range_spec(), plan_for(t))).empty());
}

TEST(PlanPreflight, SuperuserNeedsNoReplicationAttribute) {
    auto t = events_table();
    auto f = healthy();
    f.replication = false;
    f.superuser = true;
    EXPECT_TRUE(
        find(evaluate_preflight(f, t, range_spec(), plan_for(t)), "replication_privilege").ok);
}

TEST(PlanPreflight, NoKeyIsFatal) {
    auto t = events_table();
    t.indexes.clear();
    auto checks = evaluate_preflight(healthy(), t, range_spec(), plan_for(t));
    const auto& c = find(checks, "replica_key");
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(c.fatal);
    EXPECT_NE(c.message.find("ADD PRIMARY KEY"), std::string::npos);
    EXPECT_NE(c.message.find("REPLICA IDENTITY USING INDEX"), std::string::npos);

    t = events_table();
    t.replica_identity = 'n';
    EXPECT_FALSE(
        find(evaluate_preflight(healthy(), t, range_spec(), plan_for(t)), "replica_key").ok);
}

// pgoutput identifies rows by the replica identity, partshift by the primary key: with another
// index as replica identity a DELETE carries no primary key, and a primary-key change that
// leaves the index's columns alone carries no old key at all.
TEST(PlanPreflight, ReplicaIdentityOnAnotherIndexIsFatalWithTheFix) {
    auto t = events_table();
    catalog::index other;
    other.name = "events_code_key";
    other.is_unique = true;
    other.is_replica_identity = true;
    other.key_columns = {"code"};
    t.indexes.push_back(other);
    t.replica_identity = 'i';
    auto checks = evaluate_preflight(healthy(), t, range_spec(), plan_for(t));
    const auto& c = find(checks, "replica_key");
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(c.fatal);
    EXPECT_NE(c.message.find("events_code_key"), std::string::npos) << c.message;
    EXPECT_NE(c.message.find("REPLICA IDENTITY DEFAULT"), std::string::npos) << c.message;

    // The primary key named as the replica identity, and FULL (the old row holds the primary
    // key), are fine.
    t = events_table();
    t.indexes[0].is_replica_identity = true;
    t.replica_identity = 'i';
    EXPECT_TRUE(
        find(evaluate_preflight(healthy(), t, range_spec(), plan_for(t)), "replica_key").ok);
    t = events_table();
    t.replica_identity = 'f';
    EXPECT_TRUE(
        find(evaluate_preflight(healthy(), t, range_spec(), plan_for(t)), "replica_key").ok);
}

TEST(PlanPreflight, NullsInKeyAreFatalNullableKeyIsAWarning) {
    auto t = events_table();
    auto f = healthy();
    f.nullable_keys = {{"ts", 3}};
    auto c = find(evaluate_preflight(f, t, range_spec(), plan_for(t)), "partition_key_not_null");
    EXPECT_TRUE(c.fatal);
    EXPECT_FALSE(c.ok);
    EXPECT_NE(c.message.find("3 rows have a NULL ts"), std::string::npos);
    EXPECT_NE(c.message.find("SET NOT NULL"), std::string::npos);

    f.nullable_keys = {{"ts", 0}};
    c = find(evaluate_preflight(f, t, range_spec(), plan_for(t)), "partition_key_not_null");
    EXPECT_FALSE(c.ok);
    EXPECT_FALSE(c.fatal);
}

TEST(PlanPreflight, RowsOutsideAnExplicitList) {
    auto t = events_table();
    partition_spec s;
    s.level1.method = partition_method::list;
    s.level1.key = "ts";
    s.level1.values = {"a"};
    s.default_partition = false;
    auto f = healthy();
    f.level1_outside = 5;
    const auto c = find(evaluate_preflight(f, t, s, plan_for(t)), "rows_outside_partitions");
    EXPECT_TRUE(c.fatal);
    EXPECT_NE(c.message.find("5 rows"), std::string::npos);
}

TEST(PlanPreflight, InboundForeignKeyThatCannotBeRepointedIsFatalUnlessDropsAreAllowed) {
    auto t = events_table();
    catalog::foreign_key fk;
    fk.name = "items_event_fkey";
    fk.table = {"billing", "items"};
    fk.referenced = t.name;
    fk.referenced_columns = {"id"};
    t.inbound_fks = {fk};
    // The plan extends the primary key with ts: (id) alone is no longer unique on the target.
    auto plan = plan_for(t);
    plan.spec = range_spec();
    planned_index pk;
    pk.source_index = "events_pkey";
    pk.is_primary = pk.is_unique = pk.extended_with_partition_key = true;
    plan.indexes = {pk};
    auto checks = evaluate_preflight(healthy(), t, range_spec(), plan);
    const auto& c = find(checks, "inbound_foreign_keys");
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(c.fatal);
    EXPECT_NE(c.message.find("items_event_fkey on billing.items"), std::string::npos);
    EXPECT_NE(c.message.find("--drop-unrepointable-fks"), std::string::npos);

    preflight_options accepted;
    accepted.drop_unrepointable_fks = true;
    checks = evaluate_preflight(healthy(), t, range_spec(), plan, accepted);
    const auto& allowed = find(checks, "inbound_foreign_keys");
    EXPECT_FALSE(allowed.fatal);
    EXPECT_NE(allowed.message.find("drops"), std::string::npos);
    EXPECT_EQ(first_fatal_failure(checks), nullptr);
}

TEST(PlanPreflight, InboundForeignKeyOnAKeyThatStaysUniqueIsAWarning) {
    auto t = events_table();
    catalog::foreign_key fk;
    fk.name = "items_event_fkey";
    fk.table = {"billing", "items"};
    fk.referenced = t.name;
    fk.referenced_columns = {"ts", "id"};
    t.inbound_fks = {fk};
    // A unique (id, ts) already holds the partition key: it is not extended and stays unique.
    catalog::index u;
    u.name = "events_id_ts_key";
    u.is_unique = u.is_constraint = true;
    u.key_columns = {"id", "ts"};
    t.indexes.push_back(u);
    auto plan = plan_for(t);
    plan.spec = range_spec();
    planned_index pu;
    pu.source_index = "events_id_ts_key";
    pu.is_unique = true;
    plan.indexes = {pu};
    auto checks = evaluate_preflight(healthy(), t, range_spec(), plan);
    const auto& c = find(checks, "inbound_foreign_keys");
    EXPECT_FALSE(c.fatal);
    EXPECT_NE(c.message.find("re-points"), std::string::npos);
    EXPECT_EQ(first_fatal_failure(checks), nullptr);
}

TEST(PlanPreflight, TakenTargetNameIsFatal) {
    auto t = events_table();
    auto f = healthy();
    f.taken_names = {"events_new"};
    const auto c = find(evaluate_preflight(f, t, range_spec(), plan_for(t)), "target_names");
    EXPECT_TRUE(c.fatal);
    EXPECT_NE(c.message.find("events_new"), std::string::npos);
}

// Re-partitioning: each leaf writes the old key by its own replica identity; one without it
// would fail the application's UPDATEs and DELETEs once published.
TEST(PlanPreflight, EveryPartitionOfAPartitionedSourceMustSendTheKey) {
    auto t = events_table();
    t.relkind = 'p';
    t.indexes[0].key_columns = {"id", "ts"};
    catalog::partition_member leaf;
    leaf.name = {"billing", "events_p2026_01"};
    leaf.identity_columns = {"ts", "id"};
    catalog::partition_member sub = leaf;
    sub.name = {"billing", "events_p2026"};
    sub.relkind = 'p';
    sub.identity_columns = {};
    t.partitions = {sub, leaf};
    auto ok =
        find(evaluate_preflight(healthy(), t, range_spec(), plan_for(t)), "partition_identity");
    EXPECT_TRUE(ok.ok) << ok.message;

    catalog::partition_member full = leaf;
    full.name.name = "events_p2026_02";
    full.replica_identity = 'f';
    full.identity_columns = {};
    catalog::partition_member bare = leaf;
    bare.name.name = "events_default";
    bare.identity_columns = {};
    t.partitions = {sub, leaf, full, bare};
    auto checks = evaluate_preflight(healthy(), t, range_spec(), plan_for(t));
    const auto& c = find(checks, "partition_identity");
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(c.fatal);
    EXPECT_NE(c.message.find("partition billing.events_default has no replica identity"),
              std::string::npos)
        << c.message;
    EXPECT_EQ(first_fatal_failure(checks), &c);

    bare.identity_columns = {"id"};  // an index on another set of columns
    t.partitions = {sub, leaf, full, bare};
    EXPECT_FALSE(
        find(evaluate_preflight(healthy(), t, range_spec(), plan_for(t)), "partition_identity").ok);
}

// A plain source has no such check.
TEST(PlanPreflight, PlainTableHasNoPartitionCheck) {
    auto t = events_table();
    auto checks = evaluate_preflight(healthy(), t, range_spec(), plan_for(t));
    EXPECT_THROW(find(checks, "partition_identity"), std::runtime_error);
}

// The table owner's code (issue 18, item 3): refused with the owner, each function and what
// uses it, and both fixes; a warning once accepted; a failure that stops a resumed job too.
TEST(PlanPreflight, UntrustedOwnerCodeIsFatalWithOwnerFunctionsAndFixes) {
    auto t = events_table();
    auto f = healthy();
    f.user = "postgres";
    f.owner_code.running_role = "postgres";
    f.owner_code.table_owner = "app";
    f.owner_code.functions = {
        {"public.amount_ok(integer)", "app", "CHECK constraint events_amount_check"},
        {"public.\"Lower\"(text)", "app", "index events_lower expression"}};
    auto checks = evaluate_preflight(f, t, range_spec(), plan_for(t));
    const auto& c = find(checks, "owner_code");
    EXPECT_FALSE(c.ok);
    EXPECT_TRUE(c.fatal);
    EXPECT_TRUE(c.on_resume);
    for (const char* part : {"billing.events", "role app", "public.amount_ok(integer)",
                             "CHECK constraint events_amount_check", "public.\"Lower\"(text)",
                             "index events_lower expression", "rights of role postgres",
                             "run partshift as app", "REPLICATION", "--trust-table-owner"})
        EXPECT_NE(c.message.find(part), std::string::npos) << part << " in " << c.message;
    EXPECT_EQ(c.message.find('\n'), std::string::npos);
    EXPECT_EQ(first_fatal_failure(checks), &c);
    // Of all the checks, only this one stops a resumed job.
    EXPECT_EQ(first_fatal_failure(checks, /*resumed=*/true), &c);

    preflight_options accepted;
    accepted.trust_table_owner = true;
    checks = evaluate_preflight(f, t, range_spec(), plan_for(t), accepted);
    const auto& trusted = find(checks, "owner_code");
    EXPECT_FALSE(trusted.fatal);
    EXPECT_NE(trusted.message.find("accepted with --trust-table-owner"), std::string::npos);
    EXPECT_EQ(first_fatal_failure(checks), nullptr);
}

TEST(PlanPreflight, OwnerCodeIsTrustedAsTheOwnerOrFromASuperuserOwner) {
    auto t = events_table();
    auto f = healthy();
    f.owner_code.functions = {{"public.amount_ok(integer)", "app", "CHECK constraint c"}};
    f.owner_code.running_as_owner = true;
    EXPECT_TRUE(find(evaluate_preflight(f, t, range_spec(), plan_for(t)), "owner_code").ok);
    f.owner_code.running_as_owner = false;
    f.owner_code.owner_is_superuser = true;
    EXPECT_TRUE(find(evaluate_preflight(f, t, range_spec(), plan_for(t)), "owner_code").ok);
}

TEST(PlanPreflight, AResumedJobMeetsOnlyTheChecksMarkedForIt) {
    auto t = events_table();
    auto f = healthy();
    f.taken_names = {"events_new"};  // a resumed job's own target
    auto checks = evaluate_preflight(f, t, range_spec(), plan_for(t));
    EXPECT_NE(first_fatal_failure(checks), nullptr);
    EXPECT_EQ(first_fatal_failure(checks, /*resumed=*/true), nullptr);
}

// Issue 20 item 10: a retry after a revert finds the partition names taken by the table the
// revert kept; the fix names that table, not --target-name (partitions are named after the
// final name).
TEST(PlanPreflight, TakenPartitionNamesNameTheTreeToDrop) {
    auto t = events_table();
    auto f = healthy();
    f.taken_names = {"events_p2026_01", "events_p2026_01_pkey"};
    f.taken_by = {"public.events_partitioned"};
    const auto c = find(evaluate_preflight(f, t, range_spec(), plan_for(t)), "target_names");
    EXPECT_TRUE(c.fatal);
    EXPECT_NE(c.message.find("events_p2026_01, events_p2026_01_pkey"), std::string::npos);
    EXPECT_NE(c.message.find("DROP TABLE public.events_partitioned"), std::string::npos)
        << c.message;
    EXPECT_EQ(c.message.find("--target-name"), std::string::npos) << c.message;
}
