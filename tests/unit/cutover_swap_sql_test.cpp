// Unit tests for cutover/swap_sql (the swap's statements, rendered without a server).
#include <gtest/gtest.h>

#include "partshift/cutover/dependent_objects.hpp"
#include "partshift/cutover/dependent_views.hpp"
#include "partshift/cutover/swap_sql.hpp"
#include "partshift/error.hpp"

using namespace partshift;
using namespace partshift::cutover;

TEST(CutoverSwapSql, RenamesQuoteOddNames) {
    EXPECT_EQ(rename_sql("TABLE", {"Sales Data", "Order Lines"}, "Order Lines_old"),
              "ALTER TABLE \"Sales Data\".\"Order Lines\" RENAME TO \"Order Lines_old\"");
    EXPECT_EQ(rename_sql("INDEX", {"public", "events_pkey_new"}, "events_pkey"),
              "ALTER INDEX public.events_pkey_new RENAME TO events_pkey");
    EXPECT_EQ(owner_sql("TABLE", "public.events", "App Owner"),
              "ALTER TABLE public.events OWNER TO \"App Owner\"");
}

TEST(CutoverSwapSql, GrantsAtTableAndColumnLevel) {
    catalog::grant g{"reader", "SELECT", false, std::nullopt};
    EXPECT_EQ(grant_sql("public.events", g), "GRANT SELECT ON TABLE public.events TO reader");
    catalog::grant col{"PUBLIC", "UPDATE", true, std::string("Amount")};
    EXPECT_EQ(grant_sql("public.events", col),
              "GRANT UPDATE (\"Amount\") ON TABLE public.events TO PUBLIC WITH GRANT OPTION");
    EXPECT_EQ(revoke_sql("public.events", col),
              "REVOKE UPDATE (\"Amount\") ON TABLE public.events FROM PUBLIC");
    // A role literally named "public" (lowercase) is not the PUBLIC keyword.
    EXPECT_EQ(role_sql("Public"), "\"Public\"");
}

TEST(CutoverSwapSql, UnknownPrivilegeIsRefusedNotPasted) {
    catalog::grant bad{"reader", "SELECT; DROP TABLE x", false, std::nullopt};
    EXPECT_THROW(grant_sql("public.events", bad), partshift::runtime_error);
}

TEST(CutoverSwapSql, CommentsAreLiterals) {
    EXPECT_EQ(comment_sql("TABLE", "public.events", std::string("it's \\ here")),
              "COMMENT ON TABLE public.events IS E'it''s \\\\ here'");
    EXPECT_EQ(comment_sql("COLUMN", "public.events.id", std::nullopt),
              "COMMENT ON COLUMN public.events.id IS NULL");
}

TEST(CutoverSwapSql, PolicyWithRolesAndExpressions) {
    catalog::policy p;
    p.name = "own rows";
    p.command = "SELECT";
    p.permissive = false;
    p.roles = {"reader", "PUBLIC"};
    p.using_expr = "(owner = CURRENT_USER)";
    EXPECT_EQ(policy_sql("public.events", p),
              "CREATE POLICY \"own rows\" ON public.events AS RESTRICTIVE FOR SELECT TO reader, "
              "PUBLIC USING ((owner = CURRENT_USER))");
    p.command = "SELECT) OR (true";
    EXPECT_THROW(policy_sql("public.events", p), partshift::runtime_error);
}

TEST(CutoverSwapSql, TriggerStatesAndRowSecurity) {
    EXPECT_EQ(trigger_state_sql("public.events", "audit", 'A'),
              "ALTER TABLE public.events ENABLE ALWAYS TRIGGER audit");
    EXPECT_EQ(trigger_state_sql("public.events", "audit", 'R'),
              "ALTER TABLE public.events ENABLE REPLICA TRIGGER audit");
    EXPECT_EQ(trigger_state_sql("public.events", "Audit", 'D'),
              "ALTER TABLE public.events DISABLE TRIGGER \"Audit\"");
    EXPECT_EQ(trigger_state_sql("public.events", "audit", 'O'),
              "ALTER TABLE public.events ENABLE TRIGGER audit");
    EXPECT_THROW(trigger_state_sql("public.events", "audit", 'x'), partshift::runtime_error);
    EXPECT_EQ(row_security_sql("public.events", true, true),
              "ALTER TABLE public.events ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY");
}

TEST(CutoverSwapSql, ReplicaIdentityAndColumnSettings) {
    EXPECT_EQ(replica_identity_sql("public.events", 'f'),
              "ALTER TABLE public.events REPLICA IDENTITY FULL");
    EXPECT_EQ(replica_identity_sql("public.events", 'i', "events key"),
              "ALTER TABLE public.events REPLICA IDENTITY USING INDEX \"events key\"");
    EXPECT_EQ(column_statistics_sql("public.events", "kind", std::nullopt),
              "ALTER TABLE public.events ALTER COLUMN kind SET STATISTICS -1");
    EXPECT_EQ(*column_storage_sql("public.events", "body", 'm'),
              "ALTER TABLE public.events ALTER COLUMN body SET STORAGE MAIN");
    EXPECT_FALSE(column_storage_sql("public.events", "body", '?'));
}

TEST(CutoverSwapSql, ViewOptionsAreRenderedSafely) {
    EXPECT_EQ(options_clause({}), "");
    EXPECT_EQ(options_clause({"security_barrier=true", "check_option=local"}),
              " WITH (security_barrier=true, check_option=local)");
    EXPECT_EQ(options_clause({"fillfactor=it's"}), " WITH (fillfactor='it''s')");
    EXPECT_THROW(options_clause({"x) AS SELECT 1; --=1"}), partshift::runtime_error);
}

TEST(CutoverSwapSql, ViewDefinitionsLoseTheirSemicolon) {
    const std::string def = " SELECT e.id\n   FROM public.events e;";
    EXPECT_EQ(replace_view_sql({"public", "v"}, {"check_option=cascaded"}, def),
              "CREATE OR REPLACE VIEW public.v WITH (check_option=cascaded) AS\n SELECT e.id\n"
              "   FROM public.events e");
    view_shape mv;
    mv.name = {"Sales Data", "Totals"};
    mv.materialized = true;
    mv.populated = false;
    mv.tablespace = "fast";
    EXPECT_EQ(create_view_sql(mv, def),
              "CREATE MATERIALIZED VIEW \"Sales Data\".\"Totals\" TABLESPACE fast AS\n SELECT "
              "e.id\n   FROM public.events e\nWITH NO DATA");
    EXPECT_EQ(drop_view_sql(mv.name, true), "DROP MATERIALIZED VIEW \"Sales Data\".\"Totals\"");
}

TEST(CutoverSwapSql, RecreatedMaterializedViewIsFilledAfterItsOwnerIsSet) {
    captured_view v;
    v.shape.name = {"public", "totals"};
    v.shape.materialized = true;
    v.shape.populated = true;
    v.recreate = true;
    v.definition = " SELECT 1 AS one;";
    v.owner = "app";
    v.grants = {{"reader", "SELECT", false, std::nullopt}};
    v.index_sql = {"CREATE INDEX totals_one ON public.totals USING btree (one)"};
    const auto sql = view_statements(v);
    ASSERT_EQ(sql.size(), 4u);
    EXPECT_NE(sql[0].find("WITH NO DATA"), std::string::npos);
    EXPECT_EQ(sql[1], "ALTER MATERIALIZED VIEW public.totals OWNER TO app");
    EXPECT_EQ(sql[2], "GRANT SELECT ON TABLE public.totals TO reader");
    EXPECT_EQ(sql[3], v.index_sql[0]);
    EXPECT_EQ(refresh_sql(v), "REFRESH MATERIALIZED VIEW public.totals");
    v.shape.populated = false;
    EXPECT_FALSE(refresh_sql(v));
    v.shape.populated = true;
    v.recreate = false;  // a plain view that is replaced in place: one statement
    v.shape.materialized = false;
    EXPECT_EQ(view_statements(v).size(), 1u);
}

TEST(CutoverSwapSql, PublicationsAndSequences) {
    EXPECT_EQ(publication_add_sql("Feed", "public.events", std::string("id, \"Kind\""),
                                  std::string("(id > 0)")),
              "ALTER PUBLICATION \"Feed\" ADD TABLE public.events (id, \"Kind\") WHERE ((id > 0))");
    EXPECT_EQ(publication_drop_sql("feed", "public.events_old"),
              "ALTER PUBLICATION feed DROP TABLE public.events_old");
    sequence_settings s;
    s.start = 100;
    s.increment = -2;
    s.min = -1000;
    s.max = 100;
    s.cache = 5;
    s.cycle = true;
    EXPECT_EQ(sequence_settings_sql("public.events_id_seq", s),
              "ALTER SEQUENCE public.events_id_seq INCREMENT BY -2 MINVALUE -1000 MAXVALUE 100 "
              "START WITH 100 CACHE 5 CYCLE");
    EXPECT_EQ(sequence_owner_sql("public.events_id_seq", "public.events", "id"),
              "ALTER SEQUENCE public.events_id_seq OWNED BY public.events.id");
}

TEST(CutoverSwapSql, ForeignKeyRepointedNotValidThenValidated) {
    catalog::foreign_key fk;
    fk.name = "items_event_fkey";
    fk.table = {"billing", "line items"};
    fk.definition = "FOREIGN KEY (event_id) REFERENCES public.events(id) ON DELETE CASCADE";
    auto sql = repoint_fk_sql(fk, true);
    EXPECT_EQ(sql.drop_sql, "ALTER TABLE billing.\"line items\" DROP CONSTRAINT items_event_fkey");
    EXPECT_EQ(sql.add_sql,
              "ALTER TABLE billing.\"line items\" ADD CONSTRAINT items_event_fkey FOREIGN KEY "
              "(event_id) REFERENCES public.events(id) ON DELETE CASCADE NOT VALID");
    EXPECT_EQ(sql.validate_sql,
              "ALTER TABLE billing.\"line items\" VALIDATE CONSTRAINT items_event_fkey");
    // Checked while added: nothing left to validate.
    sql = repoint_fk_sql(fk, false);
    EXPECT_EQ(sql.add_sql.find("NOT VALID"), std::string::npos);
    EXPECT_TRUE(sql.validate_sql.empty());
    // NOT VALID on the source stays NOT VALID, and is not validated behind the user's back.
    fk.definition += " NOT VALID";
    sql = repoint_fk_sql(fk, false);
    EXPECT_TRUE(sql.add_sql.ends_with("ON DELETE CASCADE NOT VALID"));
    EXPECT_TRUE(sql.validate_sql.empty());
}

// dependent_objects' statements (issue 20 item 2).
TEST(CutoverDependentObjects, RulesArePutInPlaceAndPoliciesAltered) {
    using namespace partshift::cutover;
    EXPECT_EQ(or_replace_rule("CREATE RULE r AS ON DELETE TO public.t DO ALSO NOTIFY x;"),
              "CREATE OR REPLACE RULE r AS ON DELETE TO public.t DO ALSO NOTIFY x;");
    other_policy p{{"public", "Docs"}, "see own", std::string("(EXISTS (SELECT 1))"), std::nullopt};
    EXPECT_EQ(alter_policy_sql(p),
              "ALTER POLICY \"see own\" ON public.\"Docs\" USING ((EXISTS (SELECT 1)))");
    p.check_expr = "true";
    EXPECT_EQ(alter_policy_sql(p),
              "ALTER POLICY \"see own\" ON public.\"Docs\" USING ((EXISTS "
              "(SELECT 1))) WITH CHECK (true)");
    EXPECT_FALSE(rule_state_sql("public.t", "r", 'O'));
    EXPECT_EQ(*rule_state_sql("public.t", "r", 'D'), "ALTER TABLE public.t DISABLE RULE r");
    EXPECT_EQ(*rule_state_sql("public.t", "r", 'A'), "ALTER TABLE public.t ENABLE ALWAYS RULE r");
}
