// The cutover's table swap on a real PostgreSQL 15. Each test builds the partitioned target the
// way `run` does (the plan's statements, from the same planning pipeline), fills it, and swaps
// inside BEGIN; LOCK ... ACCESS EXCLUSIVE; ... COMMIT — then checks with things that could
// fail: rows inserted after the swap reach the views, triggers fire or not, grants and policies
// act, sequences continue, foreign keys point at the new table, a failed swap changes nothing.
#include <gtest/gtest.h>

#include <sstream>

#include "partshift/catalog/inspector.hpp"
#include "partshift/catalog/table_name.hpp"
#include "partshift/cli/plan_pipeline.hpp"
#include "partshift/cutover/table_swap.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/fk_rules.hpp"
#include "partshift/plan/plan_renderer.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;

namespace {

// test_roles: cluster-wide roles for one test, dropped after its database (declare it before
// the test_database so it is destroyed after it; create() once the database exists).
class test_roles {
  public:
    test_roles() = default;
    ~test_roles() {
        try {
            pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
            for (const auto& r : names_)
                admin.exec("DROP ROLE IF EXISTS " + pg::escape_identifier(r));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "warning: could not drop test roles: %s\n", e.what());
        }
    }
    test_roles(const test_roles&) = delete;
    test_roles& operator=(const test_roles&) = delete;
    void create(const std::string& name) {
        pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
        admin.exec("DROP ROLE IF EXISTS " + pg::escape_identifier(name));
        admin.exec("CREATE ROLE " + pg::escape_identifier(name));
        names_.push_back(name);
    }

  private:
    std::vector<std::string> names_;
};

plan::partition_spec id_ranges(const std::string& key, const std::string& step) {
    plan::partition_spec spec;
    spec.level1.method = plan::partition_method::range;
    spec.level1.key = key;
    spec.level1.step = step;
    spec.default_partition = true;
    return spec;
}

// build_target: plan exactly as `partshift plan`/`run` do, create the target with every index,
// and copy the rows in (explicit ids, as the copier does).
plan::target_plan build_target(const test_database& db, const std::string& table_text,
                               const plan::partition_spec& spec) {
    auto conn = db.connect();
    const auto planned = cli::plan_migration(conn, table_text, spec, {});
    pg::transaction tx(conn);
    for (const auto& sql : plan::sql_statements(planned.plan, /*with_indexes=*/true))
        conn.exec(sql);
    std::string cols;
    for (const auto& c : planned.table.columns)
        if (!c.generated_expr) cols += (cols.empty() ? "" : ", ") + pg::escape_identifier(c.name);
    conn.exec("INSERT INTO " + catalog::qualified(planned.plan.target) + " (" + cols +
              ") OVERRIDING SYSTEM VALUE SELECT " + cols + " FROM " +
              catalog::qualified(planned.plan.source));
    tx.commit();
    return planned.plan;
}

cutover::swap_request request_for(const plan::target_plan& p) {
    cutover::swap_request req;
    req.source = p.source;
    req.target_table = p.target.name;
    req.old_name = p.source.name + "_old";
    req.publication_to_skip = "partshift_job";
    return req;
}

// revert_request_for: the swap back of a revert window, as the reverse job asks for it: the
// source's name is the partitioned table now, the original is NAME_old.
cutover::swap_request revert_request_for(const plan::target_plan& p) {
    cutover::swap_request back;
    back.source = p.source;
    back.target_table = p.source.name + "_old";
    back.old_name = p.source.name + "_partitioned";
    back.publication_to_skip = "partshift_job";
    back.reverting = true;
    back.target_index_suffix = "_old";
    back.old_suffix = "_partitioned";
    return back;
}

// swap: what the migrator does around swap_tables.
cutover::swap_outcome swap(const test_database& db, const cutover::swap_request& req) {
    auto conn = db.connect();
    pg::transaction tx(conn);
    conn.exec("SET LOCAL lock_timeout = '5s'");
    conn.exec("LOCK TABLE " + catalog::qualified(req.source) + " IN ACCESS EXCLUSIVE MODE");
    auto out = cutover::swap_tables(conn, req);
    tx.commit();
    cutover::finish_after_commit(conn, out);
    return out;
}

std::string one(pg::connection& conn, const std::string& sql) {
    return conn.exec(sql).get(0, 0);
}

std::string schema_dump(const test_database& db) {
    auto r = run_command({"pg_dump", "--schema-only", "-d", db.dsn()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // pg_dump 15.14+ brackets the script with \restrict KEY / \unrestrict KEY, a random key.
    std::string out, line;
    std::istringstream in(r.out);
    while (std::getline(in, line))
        if (line.rfind("\\restrict ", 0) != 0 && line.rfind("\\unrestrict ", 0) != 0)
            out += line + "\n";
    return out;
}

// The events table with one of everything the swap must carry over. Role names are per test.
void create_events(const test_database& db, const std::string& reader, const std::string& owner) {
    db.exec(
        "CREATE TABLE public.events ("
        "  id bigserial PRIMARY KEY,"
        "  kind text NOT NULL,"
        "  amount int,"
        "  code text UNIQUE,"
        "  note text);"
        "INSERT INTO public.events (kind, amount, code, note) "
        "  SELECT CASE WHEN g % 10 = 0 THEN 'hidden' ELSE 'k' || (g % 3) END, g, 'c' || g, "
        "         'note ' || g FROM generate_series(1, 300) g;"
        "COMMENT ON TABLE public.events IS 'all the events';"
        "COMMENT ON COLUMN public.events.amount IS 'in cents';"
        "COMMENT ON INDEX public.events_code_key IS 'one per code';"
        "ALTER TABLE public.events ALTER COLUMN kind SET STATISTICS 500;"
        "ALTER TABLE public.events REPLICA IDENTITY FULL;"
        // grants at table and column level
        "GRANT SELECT ON public.events TO " +
        reader +
        ";"
        "GRANT UPDATE (amount) ON public.events TO " +
        reader +
        ";"
        // row level security, enabled and forced
        "CREATE POLICY visible ON public.events FOR SELECT USING (kind <> 'hidden');"
        "ALTER TABLE public.events ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;"
        // triggers: one ENABLE ALWAYS, one disabled
        "CREATE TABLE public.trigger_log (trigger_name text, id bigint);"
        "CREATE FUNCTION public.log_row() RETURNS trigger LANGUAGE plpgsql AS $$"
        "  BEGIN INSERT INTO public.trigger_log VALUES (TG_NAME, NEW.id); RETURN NEW; END $$;"
        "CREATE TRIGGER always_log AFTER INSERT ON public.events FOR EACH ROW "
        "  EXECUTE FUNCTION public.log_row();"
        "ALTER TABLE public.events ENABLE ALWAYS TRIGGER always_log;"
        "CREATE TRIGGER never_log AFTER INSERT ON public.events FOR EACH ROW "
        "  EXECUTE FUNCTION public.log_row();"
        "ALTER TABLE public.events DISABLE TRIGGER never_log;"
        // publications: a user's, and partshift's own (never moved)
        "CREATE PUBLICATION user_pub FOR TABLE public.events;"
        "CREATE PUBLICATION partshift_job FOR TABLE public.events;"
        // views: options, a view on the view, a materialized view with an index, a view on it
        "CREATE VIEW public.v_events WITH (security_barrier) AS "
        "  SELECT id, kind, amount FROM public.events WHERE kind <> 'x' WITH LOCAL CHECK OPTION;"
        "GRANT SELECT ON public.v_events TO " +
        reader +
        ";"
        "CREATE VIEW public.v_big AS SELECT * FROM public.v_events WHERE amount > 10;"
        "COMMENT ON VIEW public.v_big IS 'big ones';"
        "CREATE MATERIALIZED VIEW public.mv_kinds AS "
        "  SELECT kind, count(*) AS n FROM public.events GROUP BY kind;"
        "CREATE UNIQUE INDEX mv_kinds_kind ON public.mv_kinds (kind);"
        "GRANT SELECT ON public.mv_kinds TO " +
        reader +
        ";"
        "COMMENT ON MATERIALIZED VIEW public.mv_kinds IS 'per kind';"
        "CREATE VIEW public.v_kinds AS SELECT kind, n FROM public.mv_kinds;"
        // an inbound FK on (id): the target's primary key is (id) too, so it can be re-pointed
        "CREATE TABLE public.items (id int PRIMARY KEY, "
        "  event_id bigint REFERENCES public.events (id) ON DELETE CASCADE);"
        "INSERT INTO public.items SELECT g, g FROM generate_series(1, 50) g;"
        "ALTER TABLE public.events OWNER TO " +
        owner +
        ";"
        "ALTER VIEW public.v_events OWNER TO " +
        owner +
        ";"
        "ALTER MATERIALIZED VIEW public.mv_kinds OWNER TO " +
        owner + ";");
}

}  // namespace

TEST(TableSwap, SwapsTheTablesAndCarriesEveryDependentObjectOver) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_roles roles;
    test_database db;
    const std::string reader = "swap_main_reader", owner = "swap_main_owner";
    roles.create(reader);
    roles.create(owner);
    create_events(db, reader, owner);
    const auto p = build_target(db, "public.events", id_ranges("id", "100"));
    // run's index builder does not comment its indexes (sql_statements did): the swap must.
    db.exec("COMMENT ON INDEX public.events_code_key_new IS NULL");
    auto conn = db.connect();
    const auto before = fingerprint(conn, "public.events");
    const std::string seq_before = one(conn, "SELECT last_value FROM public.events_id_seq");

    const auto out = swap(db, request_for(p));
    EXPECT_FALSE(out.steps.empty());
    ASSERT_EQ(out.after_commit_sql.size(), 1u);  // the re-pointed FK's VALIDATE

    // The tables: same content, the new one partitioned under the old name.
    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass"), "p");
    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.events_old'::regclass"),
              "r");
    EXPECT_EQ(fingerprint(conn, "public.events"), before);
    EXPECT_EQ(fingerprint(conn, "public.events_old"), before);
    // \d looks as before: the source's index and constraint names, the old table's suffixed.
    EXPECT_EQ(one(conn,
                  "SELECT conname FROM pg_constraint WHERE conrelid = 'public.events'::regclass "
                  "AND contype = 'p'"),
              "events_pkey");
    EXPECT_EQ(one(conn,
                  "SELECT indrelid::regclass::text FROM pg_index "
                  "WHERE indexrelid = 'public.events_code_key'::regclass"),
              "events");
    EXPECT_EQ(one(conn,
                  "SELECT conname FROM pg_constraint "
                  "WHERE conrelid = 'public.events_old'::regclass AND contype = 'p'"),
              "events_pkey_old");
    EXPECT_EQ(one(conn, "SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_new%'"), "0");

    // Owner, comments, statistics target, replica identity (parent and partitions).
    EXPECT_EQ(one(conn,
                  "SELECT relowner::regrole::text FROM pg_class "
                  "WHERE oid = 'public.events'::regclass"),
              owner);
    EXPECT_EQ(one(conn,
                  "SELECT count(*) FROM pg_partition_tree('public.events') t "
                  "JOIN pg_class c ON c.oid = t.relid WHERE c.relowner <> '" +
                      owner + "'::regrole AND c.relkind IN ('r', 'p')"),
              "0");
    EXPECT_EQ(one(conn, "SELECT obj_description('public.events'::regclass, 'pg_class')"),
              "all the events");
    EXPECT_EQ(one(conn, "SELECT col_description('public.events'::regclass, 3)"), "in cents");
    EXPECT_EQ(one(conn, "SELECT obj_description('public.events_code_key'::regclass, 'pg_class')"),
              "one per code");
    EXPECT_EQ(one(conn,
                  "SELECT attstattarget FROM pg_attribute "
                  "WHERE attrelid = 'public.events'::regclass AND attname = 'kind'"),
              "500");
    EXPECT_EQ(one(conn,
                  "SELECT string_agg(DISTINCT c.relreplident::text, '') "
                  "FROM pg_partition_tree('public.events') t JOIN pg_class c ON c.oid = t.relid "
                  "WHERE c.relkind IN ('r', 'p')"),
              "f");

    // A row inserted after the swap lands in the partitioned table.
    conn.exec("INSERT INTO public.events (kind, amount, code) VALUES ('fresh', 1000, 'new')");
    EXPECT_EQ(one(conn, "SELECT tableoid::regclass::text FROM public.events WHERE code = 'new'")
                  .rfind("events_", 0),
              0u);
    EXPECT_EQ(one(conn, "SELECT count(*) FROM public.events_old WHERE code = 'new'"), "0");

    // Sequences: serial continues past the source's, and is owned by the new table.
    EXPECT_GT(std::stoll(one(conn, "SELECT id FROM public.events WHERE code = 'new'")),
              std::stoll(seq_before));
    EXPECT_EQ(one(conn, "SELECT pg_get_serial_sequence('public.events', 'id')"),
              "public.events_id_seq");

    // Triggers: ALWAYS fires (also in replica mode), disabled does not.
    EXPECT_EQ(one(conn,
                  "SELECT string_agg(trigger_name, ',') FROM public.trigger_log "
                  "WHERE id = (SELECT id FROM public.events WHERE code = 'new')"),
              "always_log");
    conn.exec("SET session_replication_role = replica");
    conn.exec("INSERT INTO public.events (kind, amount, code) VALUES ('fresh', 5, 'replica')");
    conn.exec("RESET session_replication_role");
    EXPECT_EQ(one(conn,
                  "SELECT string_agg(trigger_name, ',') FROM public.trigger_log "
                  "WHERE id = (SELECT id FROM public.events WHERE code = 'replica')"),
              "always_log");
    EXPECT_EQ(one(conn,
                  "SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) "
                  "FROM pg_trigger WHERE tgrelid = 'public.events'::regclass AND NOT tgisinternal"),
              "always_log:A,never_log:D");
    // The partitions' clones, which are what fires, have the same states.
    EXPECT_EQ(one(conn,
                  "SELECT count(*) FROM pg_trigger g JOIN pg_partition_tree('public.events') t "
                  "ON t.relid = g.tgrelid WHERE t.level > 0 AND NOT g.tgisinternal AND "
                  "g.tgenabled <> CASE g.tgname WHEN 'always_log' THEN 'A' ELSE 'D' END"),
              "0");

    // Views see the new row; the matview after REFRESH; options, comments and grants kept.
    EXPECT_EQ(one(conn, "SELECT count(*) FROM public.v_events WHERE kind = 'fresh'"), "2");
    EXPECT_EQ(one(conn, "SELECT count(*) FROM public.v_big WHERE kind = 'fresh'"), "1");
    // Populated by the swap with the rows before the insert, as its owner — whom FORCE ROW LEVEL
    // SECURITY applies to, so without 'hidden', as any REFRESH by that owner would be.
    EXPECT_EQ(one(conn, "SELECT string_agg(kind, ',' ORDER BY kind) FROM public.mv_kinds"),
              "k0,k1,k2");
    conn.exec("REFRESH MATERIALIZED VIEW public.mv_kinds");
    EXPECT_EQ(one(conn, "SELECT n FROM public.v_kinds WHERE kind = 'fresh'"), "2");
    EXPECT_EQ(one(conn,
                  "SELECT array_to_string(reloptions, ',') FROM pg_class "
                  "WHERE oid = 'public.v_events'::regclass"),
              "security_barrier=true,check_option=local");
    EXPECT_THROW(conn.exec("INSERT INTO public.v_events (kind, amount) VALUES ('x', 1)"),
                 pg::pg_error);  // WITH LOCAL CHECK OPTION still refuses
    EXPECT_EQ(one(conn, "SELECT obj_description('public.v_big'::regclass, 'pg_class')"),
              "big ones");
    EXPECT_EQ(one(conn, "SELECT obj_description('public.mv_kinds'::regclass, 'pg_class')"),
              "per kind");
    EXPECT_EQ(one(conn,
                  "SELECT relowner::regrole::text FROM pg_class "
                  "WHERE oid = 'public.mv_kinds'::regclass"),
              owner);
    EXPECT_EQ(one(conn,
                  "SELECT count(*) FROM pg_index "
                  "WHERE indexrelid = 'public.mv_kinds_kind'::regclass AND indisunique"),
              "1");
    for (const char* rel : {"public.v_events", "public.mv_kinds", "public.events"})
        EXPECT_EQ(
            one(conn, "SELECT has_table_privilege('" + reader + "', '" + rel + "', 'SELECT')"), "t")
            << rel;
    EXPECT_EQ(one(conn, "SELECT has_column_privilege('" + reader +
                            "', 'public.events', 'amount', 'UPDATE')"),
              "t");
    EXPECT_EQ(one(conn, "SELECT has_column_privilege('" + reader +
                            "', 'public.events', 'note', 'UPDATE')"),
              "f");

    // Row level security: the reader does not see hidden rows, even through the new table.
    EXPECT_EQ(one(conn,
                  "SELECT relrowsecurity::text || relforcerowsecurity::text FROM pg_class "
                  "WHERE oid = 'public.events'::regclass"),
              "truetrue");
    {
        pg::transaction tx(conn);
        conn.exec("SET LOCAL ROLE " + reader);
        EXPECT_EQ(one(conn, "SELECT count(*) FROM public.events WHERE kind = 'hidden'"), "0");
        EXPECT_EQ(one(conn, "SELECT count(*) FROM public.events"), "272");  // 300 - 30 + 2
    }

    // Publications: the user's lists the new table, partshift's own still the old one.
    EXPECT_EQ(one(conn,
                  "SELECT string_agg(p.pubname || '=' || pr.prrelid::regclass::text, ',' "
                  "ORDER BY p.pubname) FROM pg_publication_rel pr "
                  "JOIN pg_publication p ON p.oid = pr.prpubid"),
              "partshift_job=events_old,user_pub=events");

    // The inbound FK points at the new table and was validated after the commit.
    EXPECT_EQ(one(conn,
                  "SELECT confrelid::regclass::text || ':' || convalidated::text "
                  "FROM pg_constraint WHERE conname = 'items_event_id_fkey'"),
              "events:true");
    const std::string fresh_id = one(conn, "SELECT id FROM public.events WHERE code = 'new'");
    conn.exec("INSERT INTO public.items VALUES (1000, " + fresh_id + ")");
    EXPECT_THROW(conn.exec("INSERT INTO public.items VALUES (1001, 999999)"), pg::pg_error);

    // Nothing depends on the old table any more: it drops without CASCADE, and the serial
    // sequence (owned by the new table now) survives it.
    conn.exec("DROP TABLE public.events_old");
    conn.exec("INSERT INTO public.events (kind, amount, code) VALUES ('after', 1, 'after-drop')");
    EXPECT_EQ(one(conn, "SELECT count(*) FROM public.events WHERE code = 'after-drop'"), "1");
}

// The cutover reads the catalog before its exclusive lock (prepare_swap, under SHARE UPDATE
// EXCLUSIVE). What that weaker lock lets another session change meanwhile — a grant, a
// comment, a new view over the table — must still be carried over: the swap sees the change
// and reads the catalog again.
TEST(TableSwap, ChangesBetweenThePreparedReadsAndTheLockAreCarriedOver) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_roles roles;
    test_database db;
    const std::string reader = "swap_prep_reader", owner = "swap_prep_owner",
                      late = "swap_prep_late";
    roles.create(reader);
    roles.create(owner);
    roles.create(late);
    create_events(db, reader, owner);
    const auto p = build_target(db, "public.events", id_ranges("id", "100"));
    const auto req = request_for(p);
    auto conn = db.connect();
    {
        pg::transaction tx(conn);
        conn.exec("SET LOCAL lock_timeout = '5s'");
        conn.exec("LOCK TABLE public.events, public.events_new IN SHARE UPDATE EXCLUSIVE MODE");
        auto prepared = cutover::prepare_swap(conn, req);
        // Another session, while only the weaker lock is held: none of these waits for it.
        auto other = db.connect();
        other.exec("SET lock_timeout = '5s'");  // a statement that waited would fail the test
        other.exec("GRANT SELECT ON public.events TO " + late);
        other.exec("CREATE VIEW public.late_view AS SELECT id, amount FROM public.events");
        other.exec("INSERT INTO public.events (kind, amount, code) VALUES ('k1', 7, 'late')");
        conn.exec("LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE");
        auto out = cutover::swap_tables(conn, req, &prepared);
        tx.commit();
        cutover::finish_after_commit(conn, out);
    }
    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass"), "p");
    EXPECT_EQ(one(conn, "SELECT has_table_privilege('" + late + "', 'public.events', 'SELECT')"),
              "t");
    // The late view reads the partitioned table now: a row inserted after the swap shows.
    conn.exec("INSERT INTO public.events (kind, amount, code) VALUES ('k2', 123456, 'after')");
    EXPECT_EQ(one(conn, "SELECT count(*) FROM public.late_view WHERE amount = 123456"), "1");
    EXPECT_EQ(one(conn,
                  "SELECT string_agg(DISTINCT d.refobjid::regclass::text, ',') FROM pg_depend d "
                  "JOIN pg_rewrite r ON r.oid = d.objid "
                  "WHERE r.ev_class = 'public.late_view'::regclass AND d.refobjsubid > 0"),
              "events");
}

// Without any change in between, the prepared reads are used as they are.
TEST(TableSwap, PreparedSwapWithoutChangesSwaps) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox";
    test_roles roles;
    test_database db;
    const std::string reader = "swap_prep2_reader", owner = "swap_prep2_owner";
    roles.create(reader);
    roles.create(owner);
    create_events(db, reader, owner);
    const auto p = build_target(db, "public.events", id_ranges("id", "100"));
    const auto req = request_for(p);
    auto conn = db.connect();
    const auto before = fingerprint(conn, "public.events");
    {
        pg::transaction tx(conn);
        conn.exec("LOCK TABLE public.events, public.events_new IN SHARE UPDATE EXCLUSIVE MODE");
        auto prepared = cutover::prepare_swap(conn, req);
        conn.exec("LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE");
        auto out = cutover::swap_tables(conn, req, &prepared);
        tx.commit();
        cutover::finish_after_commit(conn, out);
    }
    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass"), "p");
    EXPECT_EQ(fingerprint(conn, "public.events"), before);
    EXPECT_EQ(one(conn, "SELECT has_table_privilege('" + reader + "', 'public.events', 'SELECT')"),
              "t");
}

TEST(TableSwap, IdentityColumnContinuesPastTheSourcesValues) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_database db;
    db.exec(
        "CREATE TABLE public.tickets (id int GENERATED BY DEFAULT AS IDENTITY "
        "  (INCREMENT BY 2 START WITH 1) PRIMARY KEY, title text NOT NULL);"
        "INSERT INTO public.tickets (title) SELECT 't' || g FROM generate_series(1, 40) g;"
        // an explicit id beyond the sequence: the new sequence must pass it too
        "INSERT INTO public.tickets VALUES (500, 'explicit');");
    const auto p = build_target(db, "public.tickets", id_ranges("id", "100"));
    auto conn = db.connect();
    const auto before = fingerprint(conn, "public.tickets");
    swap(db, request_for(p));

    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.tickets'::regclass"),
              "p");
    EXPECT_EQ(fingerprint(conn, "public.tickets"), before);
    // The identity sequence took the old name; the old one is suffixed.
    EXPECT_EQ(one(conn, "SELECT pg_get_serial_sequence('public.tickets', 'id')"),
              "public.tickets_id_seq");
    EXPECT_EQ(one(conn, "SELECT pg_get_serial_sequence('public.tickets_old', 'id')"),
              "public.tickets_id_seq_old");
    EXPECT_EQ(one(conn,
                  "SELECT seqincrement FROM pg_sequence "
                  "WHERE seqrelid = 'public.tickets_id_seq'::regclass"),
              "2");
    for (int i = 0; i < 20; ++i) conn.exec("INSERT INTO public.tickets (title) VALUES ('new')");
    EXPECT_EQ(one(conn, "SELECT min(id) FROM public.tickets WHERE title = 'new'"), "502");
    EXPECT_EQ(one(conn, "SELECT count(DISTINCT id) FROM public.tickets"), "61");
}

// Issue 20 item 8: every sequence the table uses keeps its privileges, comment and value across
// the swap and the swap back. An application role may only USAGE/SELECT the sequences: it
// inserts (nextval of the identity, the serial and a shared sequence named in a DEFAULT) and
// reads currval of each, after the swap and after the revert, and no value goes backwards.
// Failed before: the identity column's new sequence had none of the old one's grants
// ("permission denied for sequence orders_id_seq") nor its comment.
TEST(TableSwap, SequencesKeepGrantsCommentsAndValuesBothWays) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_roles roles;
    test_database db;
    const std::string app = pg::fit_identifier(db.name() + "_app");
    roles.create(app);
    const std::string app_sql = pg::escape_identifier(app);
    db.exec(
        "CREATE SEQUENCE public.shared_seq START 1000;"
        "CREATE TABLE public.orders ("
        "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        "  n bigserial,"
        "  ref bigint NOT NULL DEFAULT nextval('public.shared_seq'),"
        "  note text);"
        "INSERT INTO public.orders (note) SELECT 'o' || g FROM generate_series(1, 50) g;"
        "COMMENT ON SEQUENCE public.orders_id_seq IS 'order numbers';"
        "GRANT SELECT, INSERT ON public.orders TO " +
        app_sql +
        ";"
        "GRANT USAGE, SELECT ON SEQUENCE public.orders_id_seq, public.orders_n_seq, "
        "  public.shared_seq TO " +
        app_sql + ";");
    const auto p = build_target(db, "public.orders", id_ranges("id", "100"));
    auto conn = db.connect();

    // insert_as_app: one row as the application role; returns id, n, ref and the three currvals.
    auto insert_as_app = [&](const std::string& note) {
        pg::transaction tx(conn);
        conn.exec("SET LOCAL ROLE " + app_sql);
        auto r = conn.exec("WITH ins AS (INSERT INTO public.orders (note) VALUES ('" + note +
                           "') RETURNING id, n, ref) "
                           "SELECT id, n, ref FROM ins");
        std::vector<int64_t> out{r.get_int(0, 0), r.get_int(0, 1), r.get_int(0, 2)};
        auto c = conn.exec(
            "SELECT currval('public.orders_id_seq'), currval('public.orders_n_seq'), "
            "currval('public.shared_seq')");
        for (int i = 0; i < 3; ++i) EXPECT_EQ(c.get_int(0, i), out[i]) << note << " column " << i;
        tx.commit();
        return out;
    };
    const auto before = insert_as_app("before");

    swap(db, request_for(p));
    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.orders'::regclass"), "p");
    std::vector<int64_t> after;
    EXPECT_NO_THROW(after = insert_as_app("after the swap"));
    ASSERT_EQ(after.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_GT(after[i], before[i]) << "column " << i;
    EXPECT_EQ(one(conn, "SELECT obj_description('public.orders_id_seq'::regclass, 'pg_class')"),
              "order numbers");
    EXPECT_EQ(one(conn, "SELECT has_sequence_privilege('" + app +
                            "', 'public.orders_id_seq', 'USAGE')::text"),
              "true");

    const auto back = revert_request_for(p);
    // A privilege taken away during the window is taken away after the revert too.
    db.exec("REVOKE SELECT ON SEQUENCE public.orders_id_seq FROM " + app_sql);
    swap(db, back);
    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.orders'::regclass"), "r");
    std::vector<int64_t> reverted;
    EXPECT_NO_THROW(reverted = insert_as_app("after the revert"));
    ASSERT_EQ(reverted.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_GT(reverted[i], after[i]) << "column " << i;
    EXPECT_EQ(one(conn,
                  "SELECT tableoid::regclass::text FROM public.orders "
                  "WHERE note = 'after the revert'"),
              "orders");
    EXPECT_EQ(one(conn, "SELECT obj_description('public.orders_id_seq'::regclass, 'pg_class')"),
              "order numbers");
    EXPECT_EQ(one(conn, "SELECT has_sequence_privilege('" + app +
                            "', 'public.orders_id_seq', 'SELECT')::text"),
              "false");
    EXPECT_EQ(one(conn, "SELECT count(DISTINCT id) = count(*) FROM public.orders"), "t");
}

TEST(TableSwap, ForeignKeyThatCannotBeRepointedIsRefusedOrDroppedOnRequest) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_database db;
    db.exec(
        "CREATE TABLE public.events (id bigint PRIMARY KEY, code text NOT NULL UNIQUE);"
        "INSERT INTO public.events SELECT g, 'c' || g FROM generate_series(1, 100) g;"
        // (code) becomes (code, id) on the target: no longer unique, cannot be referenced
        "CREATE TABLE public.by_code (code text REFERENCES public.events (code));"
        "CREATE TABLE public.by_id (event_id bigint REFERENCES public.events (id));"
        "INSERT INTO public.by_code VALUES ('c1');"
        "INSERT INTO public.by_id VALUES (1);");
    const auto p = build_target(db, "public.events", id_ranges("id", "50"));
    auto conn = db.connect();
    const std::string dump_before = schema_dump(db);

    // Preflight agrees with the swap (its check fails for this FK only).
    auto problems = plan::inbound_fk_problems(
        catalog::inspect_table(conn, {"public", "events"}),
        plan::planned_unique_keys(catalog::inspect_table(conn, {"public", "events"}), p));
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].name, "by_code_code_fkey");

    auto req = request_for(p);
    try {
        swap(db, req);
        ADD_FAILURE() << "the swap should refuse";
    } catch (const partshift::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("by_code_code_fkey"), std::string::npos) << e.what();
    }
    EXPECT_EQ(schema_dump(db), dump_before);
    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass"), "r");

    req.drop_unrepointable_fks = true;
    const auto out = swap(db, req);
    bool said_so = false;
    for (const auto& s : out.steps)
        said_so = said_so || s.find("dropped foreign key by_code_code_fkey") == 0;
    EXPECT_TRUE(said_so);
    EXPECT_EQ(one(conn, "SELECT count(*) FROM pg_constraint WHERE conname = 'by_code_code_fkey'"),
              "0");
    EXPECT_EQ(one(conn,
                  "SELECT confrelid::regclass::text || ':' || convalidated::text "
                  "FROM pg_constraint WHERE conname = 'by_id_event_id_fkey'"),
              "events:true");
}

TEST(TableSwap, FailedSwapRolledBackLeavesTheCatalogIdentical) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_roles roles;
    test_database db;
    const std::string reader = "swap_fail_reader", owner = "swap_fail_owner";
    roles.create(reader);
    roles.create(owner);
    create_events(db, reader, owner);
    // A row filter on a partitioned table needs publish_via_partition_root: the publication
    // step — the last one, after renames, grants, triggers, views and FKs — fails.
    db.exec("CREATE PUBLICATION filtered FOR TABLE public.events WHERE (amount > 0)");
    const auto p = build_target(db, "public.events", id_ranges("id", "100"));
    auto conn = db.connect();
    const auto before = fingerprint(conn, "public.events");
    const std::string dump_before = schema_dump(db);

    try {
        swap(db, request_for(p));
        ADD_FAILURE() << "the swap should fail at the publication step";
    } catch (const pg::pg_error& e) {
        EXPECT_NE(std::string(e.what()).find("step 'publications'"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("ALTER PUBLICATION filtered"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(schema_dump(db), dump_before);
    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass"), "r");
    EXPECT_EQ(fingerprint(conn, "public.events"), before);
}

TEST(TableSwap, OddIdentifiersInSchemaTableColumnsAndViews) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_database db;
    db.exec(
        "CREATE SCHEMA \"Sales Data\";"
        "CREATE TABLE \"Sales Data\".\"Order Lines\" ("
        "  \"Line ID\" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        "  \"Qty \"\"Ordered\"\"\" int NOT NULL,"
        "  \"select\" text);"
        "INSERT INTO \"Sales Data\".\"Order Lines\" (\"Qty \"\"Ordered\"\"\", \"select\") "
        "  SELECT g, 's' || g FROM generate_series(1, 120) g;"
        "CREATE UNIQUE INDEX \"Lines By Qty\" ON \"Sales Data\".\"Order Lines\" "
        "  (\"Qty \"\"Ordered\"\"\", \"Line ID\");"
        "ALTER TABLE \"Sales Data\".\"Order Lines\" ALTER COLUMN \"Qty \"\"Ordered\"\"\" "
        "  SET NOT NULL;"
        "ALTER TABLE \"Sales Data\".\"Order Lines\" REPLICA IDENTITY USING INDEX \"Lines By Qty\";"
        "COMMENT ON COLUMN \"Sales Data\".\"Order Lines\".\"select\" IS 'it''s odd';"
        "CREATE VIEW \"Sales Data\".\"Line View\" AS "
        "  SELECT \"Line ID\", \"Qty \"\"Ordered\"\"\" FROM \"Sales Data\".\"Order Lines\";");
    plan::partition_spec spec = id_ranges("Line ID", "50");
    const auto p = build_target(db, "\"Sales Data\".\"Order Lines\"", spec);
    auto conn = db.connect();
    const auto before = fingerprint(conn, "\"Sales Data\".\"Order Lines\"");
    swap(db, request_for(p));

    EXPECT_EQ(one(conn,
                  "SELECT relkind FROM pg_class "
                  "WHERE oid = '\"Sales Data\".\"Order Lines\"'::regclass"),
              "p");
    EXPECT_EQ(fingerprint(conn, "\"Sales Data\".\"Order Lines_old\""), before);
    conn.exec("INSERT INTO \"Sales Data\".\"Order Lines\" (\"Qty \"\"Ordered\"\"\") VALUES (7)");
    EXPECT_EQ(one(conn, "SELECT count(*) FROM \"Sales Data\".\"Line View\""), "121");
    EXPECT_EQ(one(conn, "SELECT max(\"Line ID\") FROM \"Sales Data\".\"Order Lines\""), "121");
    EXPECT_EQ(one(conn,
                  "SELECT indrelid::regclass::text FROM pg_index "
                  "WHERE indexrelid = '\"Sales Data\".\"Lines By Qty\"'::regclass"),
              "\"Sales Data\".\"Order Lines\"");
    // Replica identity by the renamed index, on the parent and every partition's copy of it.
    EXPECT_EQ(one(conn,
                  "SELECT string_agg(DISTINCT c.relreplident::text, '') "
                  "FROM pg_partition_tree('\"Sales Data\".\"Order Lines\"') t "
                  "JOIN pg_class c ON c.oid = t.relid WHERE c.relkind IN ('r', 'p')"),
              "i");
    EXPECT_EQ(one(conn, "SELECT col_description('\"Sales Data\".\"Order Lines\"'::regclass, 3)"),
              "it's odd");
    conn.exec("DROP TABLE \"Sales Data\".\"Order Lines_old\"");
}

// The revert window's swap back (issue 10): after a forward swap, swapping back with the
// reverting request makes the schema exactly what it was before the migration once the kept
// partitioned table is dropped: names, views, grants, policies, triggers' states, sequences'
// ownership, replica identity, publication membership, the inbound foreign key (validated).
// PostgreSQL 18 names NOT NULL constraints after the table they were made on: without the
// swap's renames the partitioned table keeps events_new_*_not_null under the name events.
TEST(TableSwap, NotNullConstraintsTakeTheSourcesNamesOn18) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_roles roles;
    test_database db;
    auto conn = db.connect();
    if (conn.server_version() < 180000)
        GTEST_SKIP() << "needs PostgreSQL 18 (NOT NULL constraints in pg_constraint)";
    const std::string reader = "swap_nn_reader", owner = "swap_nn_owner";
    roles.create(reader);
    roles.create(owner);
    create_events(db, reader, owner);
    const std::string names_sql =
        "SELECT string_agg(a.attname || '=' || c.conname, ',' ORDER BY a.attname) "
        "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = c.conkey[1] WHERE c.contype = 'n' AND c.conrelid = ";
    const auto source_names = one(conn, names_sql + "'public.events'::regclass");
    EXPECT_EQ(source_names, "id=events_id_not_null,kind=events_kind_not_null");
    const auto p = build_target(db, "public.events", id_ranges("id", "100"));
    swap(db, request_for(p));
    EXPECT_EQ(one(conn, names_sql + "'public.events'::regclass"), source_names);
    EXPECT_EQ(one(conn, names_sql + "'public.events_old'::regclass"), source_names);
    // The partitions' inherited constraints follow the parent's.
    EXPECT_EQ(one(conn,
                  "SELECT count(*) FROM pg_constraint c JOIN pg_inherits i "
                  "ON i.inhrelid = c.conrelid WHERE i.inhparent = 'public.events'::regclass "
                  "AND c.contype = 'n' AND c.conname NOT LIKE 'events\\_%\\_not\\_null'"),
              "0");
}

TEST(TableSwap, SwappingBackRestoresTheOriginalSchema) {
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)";
    test_roles roles;
    test_database db;
    const std::string reader = "swap_back_reader", owner = "swap_back_owner";
    roles.create(reader);
    roles.create(owner);
    create_events(db, reader, owner);
    const std::string original = schema_dump(db);
    const auto p = build_target(db, "public.events", id_ranges("id", "100"));
    auto conn = db.connect();
    const auto before = fingerprint(conn, "public.events");
    swap(db, request_for(p));

    const auto back = revert_request_for(p);
    const auto out = swap(db, back);
    EXPECT_EQ(out.after_commit_sql.size(), 1u);  // the re-pointed FK's VALIDATE

    EXPECT_EQ(one(conn, "SELECT relkind FROM pg_class WHERE oid = 'public.events'::regclass"), "r");
    EXPECT_EQ(one(conn,
                  "SELECT relkind FROM pg_class "
                  "WHERE oid = 'public.events_partitioned'::regclass"),
              "p");
    EXPECT_EQ(fingerprint(conn, "public.events"), before);
    // A row inserted now lands in the original table, with the next serial value.
    conn.exec("INSERT INTO public.events (kind, amount, code) VALUES ('back', 1, 'back')");
    EXPECT_EQ(one(conn, "SELECT tableoid::regclass::text FROM public.events WHERE code = 'back'"),
              "events");
    conn.exec("DELETE FROM public.events WHERE code = 'back'");
    conn.exec("DROP TABLE public.events_partitioned");
    EXPECT_EQ(schema_dump(db), original);

    // A swap back asked of tables in the wrong shape fails and changes nothing.
    auto again = db.connect();
    pg::transaction tx(again);
    again.exec("LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE");
    EXPECT_THROW(cutover::swap_tables(again, back), std::exception);
}
