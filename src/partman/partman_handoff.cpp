// partman_handoff: the preflight check, create_parent per version, the registration.
#include "partshift/partman/partman_handoff.hpp"

#include <spdlog/spdlog.h>

#include "partshift/error.hpp"
#include "partshift/pg/pg_error.hpp"
#include "partshift/pg/quote.hpp"
#include "partshift/plan/next_partitions.hpp"

namespace partshift::partman {

int partman_install::major() const {
    try {
        return std::stoi(version);
    } catch (const std::exception&) {
        return 0;
    }
}

std::optional<partman_install> find_partman(pg::connection& conn) {
    auto r = conn.exec(
        "SELECT e.extversion, n.nspname FROM pg_extension e "
        "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'");
    if (r.rows() == 0) return std::nullopt;
    return partman_install{r.get(0, 0), r.get(0, 1)};
}

void check_spec_for_partman(const plan::partition_spec& spec) {
    if (spec.level1.method != plan::partition_method::range)
        throw usage_error(
            "--partman goes with --partition-by range (pg_partman maintains time "
            "and integer ranges only)");
    if (spec.level2)
        throw usage_error(
            "--partman goes without --subpartition-by (register sub-partitions "
            "with pg_partman's create_sub_parent yourself)");
    if (spec.default_partition.value_or(false))
        throw usage_error(
            "--partman goes without --default-partition (pg_partman creates its "
            "own NAME_default partition)");
}

plan::preflight_check partman_preflight(const std::optional<partman_install>& install,
                                        const std::string& schema, const std::string& table) {
    plan::preflight_check check;
    check.name = "partman";
    check.fatal = true;
    if (!install) {
        check.message =
            "--partman needs the pg_partman extension in this database; install the package "
            "(Debian: postgresql-15-partman) and run CREATE SCHEMA partman; CREATE EXTENSION "
            "pg_partman SCHEMA partman; or run without --partman";
        return check;
    }
    if (install->major() < 4 || install->major() > 5) {
        check.message = "pg_partman " + install->version +
                        " is installed; --partman knows the create_parent of 4.x and 5.x only";
        return check;
    }
    if (schema.find('.') != std::string::npos || table.find('.') != std::string::npos) {
        check.message = "pg_partman cannot manage a table whose schema or name contains a dot (" +
                        schema + "." + table + "); rename it or run without --partman";
        return check;
    }
    check.ok = true;
    check.message = "pg_partman " + install->version + " in schema " + install->schema +
                    " will maintain the partitions after the cutover";
    return check;
}

std::string create_parent_call(const partman_install& install) {
    const std::string fn = "SELECT " + pg::quote_ident(install.schema) +
                           ".create_parent(p_parent_table := $1, p_control := $2, ";
    if (install.major() >= 5)
        return fn +
               "p_interval := $3, p_type := 'range', p_premake := $4::int, "
               "p_start_partition := $5)";
    return fn +
           "p_type := 'native', p_interval := $3, p_premake := $4::int, "
           "p_start_partition := $5)";
}

std::string partman_interval(const plan::partition_spec& spec) {
    return spec.level1.interval ? *spec.level1.interval : spec.level1.step.value_or("");
}

int partman_premake(const plan::partition_spec& spec) {
    return spec.premake > 0 ? spec.premake : 4;
}

bool register_with_partman(pg::connection& conn, const std::string& schema,
                           const std::string& table, const plan::partition_spec& spec) {
    const auto install = find_partman(conn);
    if (!install)
        throw runtime_error(
            "pg_partman is no longer installed in this database; CREATE "
            "EXTENSION pg_partman and run the same command again");
    const std::string parent = schema + "." + table;
    const std::string config = pg::quote_ident(install->schema) + ".part_config";
    if (conn.query("SELECT 1 FROM " + config + " WHERE parent_table = $1", parent).rows() > 0) {
        spdlog::info("partman: {} is already registered with pg_partman", parent);
        return false;
    }
    // The first partition partman creates starts where partshift's last one ends: partman
    // skips names that exist but not ranges, and its names differ from partshift's for some
    // intervals.
    const std::string start = plan::read_range_partitioning(conn, {schema, table}).last_upper;
    const auto interval = partman_interval(spec);
    const int premake = partman_premake(spec);
    pg::transaction tx(conn);
    conn.query(create_parent_call(*install), parent, spec.level1.key, interval,
               std::to_string(premake), start);
    // A time set gets its future partitions by the clock, not only once rows arrive in the
    // newest one (partman's default), as partshift's --premake did.
    if (spec.level1.interval)
        conn.query(
            "UPDATE " + config + " SET infinite_time_partitions = true WHERE parent_table = $1",
            parent);
    tx.commit();
    spdlog::info(
        "partman: registered {} with pg_partman {} (interval {}, premake {}, from {}); "
        "its maintenance (run_maintenance(), or its background worker) creates the "
        "next partitions",
        parent, install->version, interval, premake, start);
    return true;
}

}  // namespace partshift::partman
