// Integration tests for catalog/table_name and catalog/inspector against the sandbox server:
// name resolution follows SQL's rules, and every part of a richly featured table is read back.
#include <gtest/gtest.h>

#include <algorithm>

#include "partshift/catalog/inspector.hpp"
#include "partshift/catalog/table_name.hpp"
#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"
#include "support/sandbox.hpp"

using namespace partshift;
using namespace partshift::testing;
using catalog::qualified_name;

namespace {

#define REQUIRE_SANDBOX() \
    if (!sandbox_available()) GTEST_SKIP() << "no sandbox (run through scripts/test.sh)"

const catalog::index* find_index(const catalog::table_model& m, const std::string& name) {
    for (const auto& i : m.indexes)
        if (i.name == name) return &i;
    return nullptr;
}

// Roles are cluster-wide while databases are per test: derive role names from the database.
std::string role_for(const test_database& db, const std::string& suffix) {
    return db.name() + "_" + suffix;
}

void drop_role(const std::string& role) {
    pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
    admin.exec("DROP ROLE IF EXISTS " + pg::escape_identifier(role));
}

}  // namespace

TEST(CatalogTableName, ResolvesLikeSql) {
    REQUIRE_SANDBOX();
    test_database db;
    db.exec(R"sql(
        CREATE SCHEMA billing;
        CREATE TABLE billing.events (id int);
        CREATE TABLE "Order Lines" (id int);
        CREATE TABLE public."Weird ""name""" (id int);
        CREATE TABLE public.events (id int);
        CREATE SCHEMA "Mixed Schema";
        CREATE TABLE "Mixed Schema"."Dotted.Name" (id int);
        CREATE VIEW v AS SELECT 1 AS one;
    )sql");
    // A session like partshift's own: its search_path is pinned to pg_catalog, pg_temp, and a
    // one-part name is still found the way the user's SQL would find it.
    pg::connection conn(db.dsn(), "partshift-test");
    EXPECT_EQ(catalog::resolve_table_name(conn, "billing.events"),
              (qualified_name{"billing", "events"}));
    EXPECT_EQ(catalog::resolve_table_name(conn, "BILLING.Events"),
              (qualified_name{"billing", "events"}));
    EXPECT_EQ(catalog::resolve_table_name(conn, "events"), (qualified_name{"public", "events"}));
    EXPECT_EQ(catalog::resolve_table_name(conn, "\"Order Lines\""),
              (qualified_name{"public", "Order Lines"}));
    EXPECT_EQ(catalog::resolve_table_name(conn, "public.\"Weird \"\"name\"\"\""),
              (qualified_name{"public", "Weird \"name\""}));
    EXPECT_EQ(catalog::resolve_table_name(conn, "\"Mixed Schema\".\"Dotted.Name\""),
              (qualified_name{"Mixed Schema", "Dotted.Name"}));
    EXPECT_EQ(catalog::resolve_table_name(conn, db.name() + ".billing.events"),
              (qualified_name{"billing", "events"}));

    EXPECT_EQ(conn.exec("SHOW search_path").get(0, 0), "pg_catalog, pg_temp");

    // The role's or database's default search_path decides which one-part name is visible.
    conn.exec("ALTER DATABASE " + pg::escape_identifier(db.name()) +
              " SET search_path = billing, public");
    conn = pg::connection(db.dsn(), "partshift-test");
    EXPECT_EQ(catalog::resolve_table_name(conn, "events"), (qualified_name{"billing", "events"}));
    EXPECT_EQ(conn.exec("SHOW search_path").get(0, 0), "pg_catalog, pg_temp");

    auto message_of = [&](const std::string& text) {
        try {
            catalog::resolve_table_name(conn, text);
        } catch (const usage_error& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_EQ(message_of("nope"), "table \"nope\" does not exist");
    EXPECT_EQ(message_of("billing.nope"), "table \"billing.nope\" does not exist");
    EXPECT_EQ(message_of("order_lines"), "table \"order_lines\" does not exist");
    // Unquoted, a space is not part of a name (as in SQL): the user has to quote it.
    EXPECT_NE(message_of("Order Lines").find("invalid table name"), std::string::npos);
    EXPECT_NE(message_of("\"unterminated").find("invalid table name"), std::string::npos);
    EXPECT_NE(message_of("a.b.c.d").find("invalid table name"), std::string::npos);
    EXPECT_NE(message_of("other_db.billing.events").find("another database"), std::string::npos);
    EXPECT_EQ(message_of("public.v"), "\"public.v\" is a view, not a table");
}

TEST(CatalogInspector, ReadsEveryFeature) {
    REQUIRE_SANDBOX();
    test_database db;
    const std::string reader = role_for(db, "reader");
    {
        auto conn = db.connect();
        conn.exec("DROP ROLE IF EXISTS " + pg::escape_identifier(reader));
        conn.exec("CREATE ROLE " + pg::escape_identifier(reader));
    }
    struct role_guard {
        const test_database& db;
        std::string role;
        ~role_guard() {
            try {
                auto conn = db.connect();
                conn.exec("DROP OWNED BY " + pg::escape_identifier(role));
                drop_role(role);
            } catch (...) {
            }
        }
    } guard{db, reader};

    auto conn = db.connect();
    const std::string r = pg::escape_identifier(reader);
    conn.exec(R"sql(
        CREATE SCHEMA app;
        CREATE TABLE app.parent (id int PRIMARY KEY);
        INSERT INTO app.parent VALUES (1), (2);
        CREATE TABLE app.rich (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            serial_col serial,
            code char(1) NOT NULL DEFAULT 'a',
            amount numeric(12,2) CONSTRAINT amount_positive CHECK (amount > 0),
            name text COLLATE "C",
            email varchar(200) UNIQUE NULLS NOT DISTINCT,
            created_at timestamptz NOT NULL DEFAULT now(),
            total numeric GENERATED ALWAYS AS (amount * 2) STORED,
            doc jsonb,
            parent_id int REFERENCES app.parent (id) ON DELETE CASCADE,
            CONSTRAINT total_nonnegative CHECK (total >= 0) NO INHERIT
        );
        ALTER TABLE app.rich ALTER COLUMN doc SET STORAGE EXTERNAL;
        ALTER TABLE app.rich ALTER COLUMN name SET STATISTICS 500;
        COMMENT ON TABLE app.rich IS 'rich table';
        COMMENT ON COLUMN app.rich.amount IS 'in cents';
        CREATE INDEX rich_lower_name ON app.rich (lower(name)) WHERE amount > 10;
        CREATE INDEX "Weird USING idx" ON app.rich USING btree (created_at DESC) INCLUDE (code);
        COMMENT ON INDEX app."Weird USING idx" IS 'tricky name';
        CREATE INDEX rich_doc ON app.rich USING gin (doc);
        CREATE UNIQUE INDEX rich_code_created ON app.rich (code, created_at);
        ALTER TABLE app.rich REPLICA IDENTITY USING INDEX rich_code_created;
        ALTER TABLE app.rich SET (fillfactor = 70, toast.autovacuum_enabled = false);
        CREATE TABLE app.child (id int, rich_id bigint REFERENCES app.rich (id));
        CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
        CREATE TRIGGER rich_touch BEFORE INSERT ON app.rich FOR EACH ROW
            EXECUTE FUNCTION app.touch();
        ALTER TABLE app.rich ENABLE ALWAYS TRIGGER rich_touch;
        CREATE VIEW app.v1 AS SELECT id, name FROM app.rich;
        CREATE VIEW app.v2 AS SELECT id FROM app.v1;
        CREATE MATERIALIZED VIEW app.mv AS SELECT count(*) AS n FROM app.rich;
        ALTER TABLE app.rich ENABLE ROW LEVEL SECURITY;
        ALTER TABLE app.rich FORCE ROW LEVEL SECURITY;
        CREATE POLICY p_ins ON app.rich AS RESTRICTIVE FOR INSERT WITH CHECK (amount < 1000);
        INSERT INTO app.rich (code, amount, name, email, doc, parent_id, created_at)
            SELECT 'b', g, 'n' || g, 'e' || g, '{}', 1, now() + g * interval '1 s'
                FROM generate_series(1, 42) g;
    )sql");
    conn.exec("GRANT SELECT, INSERT ON app.rich TO " + r);
    conn.exec("GRANT UPDATE (name) ON app.rich TO " + r + " WITH GRANT OPTION");
    conn.exec("CREATE POLICY p_read ON app.rich FOR SELECT TO " + r + " USING (amount > 0)");

    auto m = catalog::inspect_table(conn, {"app", "rich"});

    EXPECT_EQ(m.name, (qualified_name{"app", "rich"}));
    EXPECT_EQ(m.owner, "postgres");
    EXPECT_EQ(m.relkind, 'r');
    EXPECT_EQ(m.persistence, 'p');
    EXPECT_EQ(m.replica_identity, 'i');
    EXPECT_EQ(m.comment, "rich table");
    EXPECT_EQ(m.storage_options,
              (std::vector<std::string>{"fillfactor=70", "toast.autovacuum_enabled=false"}));
    EXPECT_FALSE(m.access_method);
    EXPECT_FALSE(m.tablespace);
    EXPECT_TRUE(m.rls_enabled);
    EXPECT_TRUE(m.rls_forced);
    EXPECT_EQ(m.row_estimate, 42);  // never analyzed: counted
    EXPECT_GT(m.total_bytes, 0);

    // Columns.
    ASSERT_EQ(m.columns.size(), 10u);
    const auto* id = m.find_column("id");
    ASSERT_TRUE(id);
    EXPECT_EQ(id->type_name, "bigint");
    EXPECT_EQ(id->type_category, "N");
    EXPECT_EQ(id->identity, 'a');
    EXPECT_EQ(id->identity_sequence, "app.rich_id_seq");
    EXPECT_FALSE(id->default_expr);
    EXPECT_TRUE(id->not_null);
    const auto* serial = m.find_column("serial_col");
    ASSERT_TRUE(serial);
    EXPECT_EQ(serial->type_name, "integer");
    EXPECT_EQ(serial->default_expr, "nextval('app.rich_serial_col_seq'::regclass)");
    EXPECT_EQ(serial->identity, '\0');
    const auto* code = m.find_column("code");
    ASSERT_TRUE(code);
    EXPECT_EQ(code->type_name, "character(1)");
    EXPECT_EQ(code->default_expr, "'a'::bpchar");
    EXPECT_TRUE(code->not_null);
    const auto* amount = m.find_column("amount");
    ASSERT_TRUE(amount);
    EXPECT_EQ(amount->type_name, "numeric(12,2)");
    EXPECT_EQ(amount->comment, "in cents");
    EXPECT_FALSE(amount->not_null);
    const auto* name = m.find_column("name");
    ASSERT_TRUE(name);
    EXPECT_EQ(name->collation, "\"C\"");
    EXPECT_EQ(name->statistics, 500);
    EXPECT_FALSE(m.find_column("email")->collation);
    EXPECT_EQ(m.find_column("email")->type_name, "character varying(200)");
    EXPECT_EQ(m.find_column("created_at")->type_name, "timestamp with time zone");
    EXPECT_EQ(m.find_column("created_at")->type_category, "D");
    EXPECT_EQ(m.find_column("created_at")->default_expr, "now()");
    const auto* total = m.find_column("total");
    ASSERT_TRUE(total);
    EXPECT_EQ(total->generated_expr, "(amount * (2)::numeric)");
    EXPECT_FALSE(total->default_expr);
    const auto* doc = m.find_column("doc");
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->storage, 'e');
    EXPECT_EQ(m.find_column("name")->storage, '\0');
    EXPECT_FALSE(doc->statistics);
    EXPECT_EQ(m.columns.front().name, "id");
    EXPECT_EQ(m.columns.back().name, "parent_id");

    // CHECK constraints.
    ASSERT_EQ(m.checks.size(), 2u);
    EXPECT_EQ(m.checks[0].name, "amount_positive");
    EXPECT_EQ(m.checks[0].definition, "CHECK ((amount > (0)::numeric))");
    EXPECT_FALSE(m.checks[0].no_inherit);
    EXPECT_EQ(m.checks[1].name, "total_nonnegative");
    EXPECT_TRUE(m.checks[1].no_inherit);

    // Indexes.
    ASSERT_EQ(m.indexes.size(), 6u);
    const auto* pk = m.primary_key();
    ASSERT_TRUE(pk);
    EXPECT_EQ(&m.indexes.front(), pk);  // primary key first
    EXPECT_EQ(pk->name, "rich_pkey");
    EXPECT_TRUE(pk->is_unique);
    EXPECT_TRUE(pk->is_constraint);
    EXPECT_EQ(pk->constraint_name, "rich_pkey");
    EXPECT_EQ(pk->key_columns, (std::vector<std::string>{"id"}));
    EXPECT_EQ(pk->using_clause, "USING btree (id)");
    EXPECT_EQ(pk->definition, "CREATE UNIQUE INDEX rich_pkey ON app.rich USING btree (id)");
    EXPECT_EQ(m.apply_key(), pk);

    const auto* email = find_index(m, "rich_email_key");
    ASSERT_TRUE(email);
    EXPECT_TRUE(email->is_unique);
    EXPECT_TRUE(email->is_constraint);
    EXPECT_TRUE(email->nulls_not_distinct);
    EXPECT_EQ(email->using_clause, "USING btree (email) NULLS NOT DISTINCT");

    const auto* lower = find_index(m, "rich_lower_name");
    ASSERT_TRUE(lower);
    EXPECT_TRUE(lower->is_partial);
    EXPECT_TRUE(lower->has_expressions);
    EXPECT_FALSE(lower->is_unique);
    EXPECT_FALSE(lower->is_constraint);
    EXPECT_TRUE(lower->key_columns.empty());
    EXPECT_EQ(lower->using_clause, "USING btree (lower(name)) WHERE (amount > (10)::numeric)");

    const auto* weird = find_index(m, "Weird USING idx");
    ASSERT_TRUE(weird);
    EXPECT_EQ(weird->using_clause, "USING btree (created_at DESC) INCLUDE (code)");
    EXPECT_EQ(weird->key_columns, (std::vector<std::string>{"created_at"}));
    EXPECT_EQ(weird->include_columns, (std::vector<std::string>{"code"}));
    EXPECT_EQ(weird->comment, "tricky name");

    const auto* gin = find_index(m, "rich_doc");
    ASSERT_TRUE(gin);
    EXPECT_EQ(gin->method, "gin");
    EXPECT_EQ(gin->using_clause, "USING gin (doc)");

    const auto* ri = find_index(m, "rich_code_created");
    ASSERT_TRUE(ri);
    EXPECT_TRUE(ri->is_replica_identity);
    EXPECT_TRUE(ri->is_unique);
    EXPECT_FALSE(ri->is_constraint);
    EXPECT_EQ(ri->key_columns, (std::vector<std::string>{"code", "created_at"}));

    // Foreign keys both ways.
    ASSERT_EQ(m.outbound_fks.size(), 1u);
    EXPECT_EQ(m.outbound_fks[0].name, "rich_parent_id_fkey");
    EXPECT_EQ(m.outbound_fks[0].referenced, (qualified_name{"app", "parent"}));
    EXPECT_EQ(m.outbound_fks[0].columns, (std::vector<std::string>{"parent_id"}));
    EXPECT_EQ(m.outbound_fks[0].referenced_columns, (std::vector<std::string>{"id"}));
    EXPECT_EQ(m.outbound_fks[0].definition,
              "FOREIGN KEY (parent_id) REFERENCES app.parent(id) ON DELETE CASCADE");
    ASSERT_EQ(m.inbound_fks.size(), 1u);
    EXPECT_EQ(m.inbound_fks[0].table, (qualified_name{"app", "child"}));
    EXPECT_EQ(m.inbound_fks[0].columns, (std::vector<std::string>{"rich_id"}));
    EXPECT_EQ(m.inbound_fks[0].referenced_columns, (std::vector<std::string>{"id"}));

    // Triggers: the user's only (not the FK's internal ones).
    ASSERT_EQ(m.triggers.size(), 1u);
    EXPECT_EQ(m.triggers[0].name, "rich_touch");
    EXPECT_EQ(m.triggers[0].enabled_state, 'A');
    EXPECT_TRUE(m.triggers[0].enabled);
    EXPECT_NE(m.triggers[0].definition.find("EXECUTE FUNCTION app.touch()"), std::string::npos);

    // Dependent views, recursively and in creation order.
    ASSERT_EQ(m.dependent_views.size(), 3u);
    EXPECT_EQ(m.dependent_views[0].name, (qualified_name{"app", "mv"}));
    EXPECT_TRUE(m.dependent_views[0].materialized);
    EXPECT_EQ(m.dependent_views[1].name, (qualified_name{"app", "v1"}));
    EXPECT_EQ(m.dependent_views[1].depth, 1);
    EXPECT_EQ(m.dependent_views[2].name, (qualified_name{"app", "v2"}));
    EXPECT_EQ(m.dependent_views[2].depth, 2);
    EXPECT_NE(m.dependent_views[2].definition.find("v1"), std::string::npos);

    // Owned sequences: identity and serial.
    ASSERT_EQ(m.sequences.size(), 2u);
    EXPECT_EQ(m.sequences[0].name, (qualified_name{"app", "rich_id_seq"}));
    EXPECT_EQ(m.sequences[0].column, "id");
    EXPECT_TRUE(m.sequences[0].identity);
    EXPECT_EQ(m.sequences[1].name, (qualified_name{"app", "rich_serial_col_seq"}));
    EXPECT_EQ(m.sequences[1].column, "serial_col");
    EXPECT_FALSE(m.sequences[1].identity);

    // Grants: table-level and column-level, the owner's own left out.
    ASSERT_EQ(m.grants.size(), 3u);
    EXPECT_EQ(m.grants[0].grantee, reader);
    EXPECT_EQ(m.grants[0].privilege, "INSERT");
    EXPECT_FALSE(m.grants[0].column);
    EXPECT_EQ(m.grants[1].privilege, "SELECT");
    EXPECT_EQ(m.grants[2].privilege, "UPDATE");
    EXPECT_EQ(m.grants[2].column, "name");
    EXPECT_TRUE(m.grants[2].grantable);

    // Row-level security policies.
    ASSERT_EQ(m.policies.size(), 2u);
    EXPECT_EQ(m.policies[0].name, "p_ins");
    EXPECT_EQ(m.policies[0].command, "INSERT");
    EXPECT_FALSE(m.policies[0].permissive);
    EXPECT_EQ(m.policies[0].roles, (std::vector<std::string>{"PUBLIC"}));
    EXPECT_FALSE(m.policies[0].using_expr);
    EXPECT_EQ(m.policies[0].check_expr, "(amount < (1000)::numeric)");
    EXPECT_EQ(m.policies[1].name, "p_read");
    EXPECT_EQ(m.policies[1].command, "SELECT");
    EXPECT_TRUE(m.policies[1].permissive);
    EXPECT_EQ(m.policies[1].roles, (std::vector<std::string>{reader}));
    EXPECT_EQ(m.policies[1].using_expr, "(amount > (0)::numeric)");
}

TEST(CatalogInspector, QuotedNamesAndKinds) {
    REQUIRE_SANDBOX();
    test_database db;
    auto conn = db.connect();
    conn.exec(R"sql(
        CREATE SCHEMA "Sales Data";
        CREATE UNLOGGED TABLE "Sales Data"."Order Lines" (
            "order" int NOT NULL, "Line No" int NOT NULL, note text,
            PRIMARY KEY ("order", "Line No"));
        CREATE INDEX "Idx ON Weird" ON "Sales Data"."Order Lines" (note);
        CREATE TABLE analyzed (id int PRIMARY KEY);
        INSERT INTO analyzed SELECT generate_series(1, 1000);
        ANALYZE analyzed;
        CREATE TABLE parted (id int, k int) PARTITION BY HASH (k);
    )sql");
    auto m = catalog::inspect_table(conn, {"Sales Data", "Order Lines"});
    EXPECT_EQ(m.persistence, 'u');
    ASSERT_TRUE(m.primary_key());
    EXPECT_EQ(m.primary_key()->key_columns, (std::vector<std::string>{"order", "Line No"}));
    EXPECT_EQ(m.primary_key()->using_clause, "USING btree (\"order\", \"Line No\")");
    const auto* idx = find_index(m, "Idx ON Weird");
    ASSERT_TRUE(idx);
    EXPECT_EQ(idx->definition,
              "CREATE INDEX \"Idx ON Weird\" ON \"Sales Data\".\"Order Lines\" USING btree (note)");
    EXPECT_EQ(idx->using_clause, "USING btree (note)");

    EXPECT_EQ(catalog::inspect_table(conn, {"public", "analyzed"}).row_estimate, 1000);
    auto parted = catalog::inspect_table(conn, {"public", "parted"});
    EXPECT_EQ(parted.relkind, 'p');
    EXPECT_EQ(parted.row_estimate, 0);
    EXPECT_THROW(catalog::inspect_table(conn, {"public", "missing"}), usage_error);
}
