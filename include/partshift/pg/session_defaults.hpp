// session_defaults: what every partshift session (replication ones aside) sets as soon as it
// is connected. Must stay one plain statement that cannot fail on a healthy connection.
#pragma once

namespace partshift::pg {

// A role or database default statement_timeout or idle_in_transaction_session_timeout is
// meant for the application's queries. partshift's statements are bounded by design, yet some
// run long on a large table (an index build on one partition, a chunk of wide rows) or leave a
// transaction open between statements (the applier's batch waiting for the next source
// commit): such a default would cancel them, and again at every rerun. The cutover sets its
// own lock_timeout per attempt.
inline constexpr const char* session_defaults_sql =
    "SELECT set_config('statement_timeout', '0', false), "
    "set_config('idle_in_transaction_session_timeout', '0', false)";

}  // namespace partshift::pg
