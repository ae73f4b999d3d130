// session_defaults: what every partshift session (the replication ones too) sets as soon as it
// is connected. Must stay one plain statement that cannot fail on a healthy connection, and
// must name every function it calls with its schema: it runs before the path is pinned.
#pragma once

namespace partshift::pg {

// A role or database default statement_timeout or idle_in_transaction_session_timeout is
// meant for the application's queries. partshift's statements are bounded by design, yet some
// run long on a large table (an index build on one partition, a chunk of wide rows) or leave a
// transaction open between statements (the applier's batch waiting for the next source
// commit): such a default would cancel them, and again at every rerun. The cutover sets its
// own lock_timeout per attempt.
//
// search_path is pinned to pg_catalog, pg_temp (what PostgreSQL's own maintenance commands use
// since CVE-2018-1058 and CVE-2022-1552): the database's owner, or anyone with CREATE on a
// schema in the role's or the database's default path, could otherwise plant a function or an
// operator that an unqualified name in partshift's SQL resolves to — an exact-signature match
// in `public` beats pg_catalog's own — and it would run with partshift's rights, often a
// superuser's. pg_temp last: a temporary object can never shadow a catalog one. Every user
// object partshift names is schema-qualified; the one place that must resolve a name the way
// the user's SQL would (an unqualified --table) does so explicitly (catalog/table_name.cpp).
inline constexpr const char* pinned_search_path = "pg_catalog, pg_temp";
inline constexpr const char* session_defaults_sql =
    "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), "
    "pg_catalog.set_config('statement_timeout', '0', false), "
    "pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false)";

}  // namespace partshift::pg
