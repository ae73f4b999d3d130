// schema_trust: whether partshift may trust its own schema in this database. partshift keeps
// its job state in schema `partshift` and acts on it with the operator's rights (it runs the
// after-swap statements stored there, deletes the spool directory named there, writes the
// tables in transactions that fire whatever triggers they carry). Anyone else who owns that
// schema, an object in it, or may write its tables could turn a run into theirs. Reads the
// catalog only; must not create, change or repair anything.
#pragma once

#include "partshift/pg/connection.hpp"

namespace partshift::state {

// require_trusted_schema throws preflight_error (exit 3) naming every problem and the fix when
// schema partshift exists and: it or an object in it is owned by a role that is neither the
// running role nor a superuser; such a role (or PUBLIC) may create objects in it or write its
// tables (table or column privileges); or its tables carry a trigger, rule or policy (partshift
// creates none). Does nothing when the schema does not exist.
void require_trusted_schema(pg::connection& conn);

}  // namespace partshift::state
