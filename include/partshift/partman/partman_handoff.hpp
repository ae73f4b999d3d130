// partman_handoff: run --partman. Before anything is created, a preflight check that the
// pg_partman extension is installed in the database (and the spec is one it can maintain);
// after the cutover, the partitioned table is registered with it (create_parent, in the syntax
// of the installed 4.x or 5.x) with the job's interval and premake, so its maintenance creates
// the future partitions. Registration is idempotent: a table already in part_config is left
// as it is, so a rerun after a failure finishes it.
// Must not: touch the table before the cutover, or create partitions itself (partman does).
#pragma once

#include <optional>
#include <string>

#include "partshift/pg/connection.hpp"
#include "partshift/plan/partition_spec.hpp"
#include "partshift/plan/preflight_check.hpp"

namespace partshift::partman {

struct partman_install {
    std::string version;  // pg_extension.extversion, "4.7.2"
    std::string schema;   // where it is installed, "partman"
    int major() const;
};

// find_partman: the extension in the connected database, if installed.
std::optional<partman_install> find_partman(pg::connection& conn);

// check_spec_for_partman: usage_error (exit 2) for a spec pg_partman cannot maintain: only a
// single RANGE level on a time or integer column, no DEFAULT partition of partshift's (partman
// makes its own).
void check_spec_for_partman(const plan::partition_spec& spec);

// partman_preflight: the preflight check "partman" (fatal when the extension is missing, with
// the fix), or for a schema/table name pg_partman cannot handle (a dot in it).
plan::preflight_check partman_preflight(const std::optional<partman_install>& install,
                                        const std::string& schema, const std::string& table);

// create_parent_call: the create_parent statement for the installed version (named arguments;
// 4.x: p_type 'native', 5.x: p_type 'range'), with $1 parent ('schema.table'), $2 control
// column, $3 interval, $4 premake, $5 start partition. Pure.
std::string create_parent_call(const partman_install& install);

// partman_interval: the interval or step of the spec as create_parent takes it.
std::string partman_interval(const plan::partition_spec& spec);

// partman_premake: the spec's --premake, or partman's own default (4) when it was 0.
int partman_premake(const plan::partition_spec& spec);

// register_with_partman: after the cutover, the partitioned table schema.table into
// part_config, starting after its last partition; false when it was already there.
bool register_with_partman(pg::connection& conn, const std::string& schema,
                           const std::string& table, const plan::partition_spec& spec);

}  // namespace partshift::partman
