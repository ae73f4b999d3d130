// storage_facts: the size and settings queries (see the header).
#include "partshift/plan/storage_facts.hpp"

namespace partshift::plan {

storage_facts read_storage_facts(pg::connection& conn, const catalog::table_model& table) {
    storage_facts f;
    const std::string oid = std::to_string(table.oid);
    // The leaves of a partitioned source, and the relation itself: pg_partition_tree lists
    // nothing for a table that is not in a partition tree, and a partitioned table's own
    // size is 0.
    auto sizes = conn.query(
        "SELECT coalesce(sum(pg_catalog.pg_table_size(t.relid)), 0)::bigint, "
        "coalesce(sum(pg_catalog.pg_relation_size(t.relid)), 0)::bigint, "
        "coalesce(sum(pg_catalog.pg_indexes_size(t.relid)), 0)::bigint "
        "FROM (SELECT relid FROM pg_catalog.pg_partition_tree($1::pg_catalog.oid) WHERE isleaf "
        "UNION SELECT $1::pg_catalog.oid) t",
        oid);
    f.table_bytes = sizes.get_int(0, 0);
    f.heap_bytes = sizes.get_int(0, 1);
    f.indexes_bytes = sizes.get_int(0, 2);
    auto indexes = conn.query(
        "SELECT c.relname, (SELECT coalesce(sum(pg_catalog.pg_relation_size(t.relid)), 0) "
        "FROM (SELECT relid FROM pg_catalog.pg_partition_tree(i.indexrelid) WHERE isleaf "
        "UNION SELECT i.indexrelid) t)::bigint "
        "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = $1::pg_catalog.oid",
        oid);
    for (int r = 0; r < indexes.rows(); ++r)
        f.indexes.push_back({indexes.get(r, 0), indexes.get_int(r, 1)});
    auto settings = conn.exec(
        "SELECT pg_catalog.current_setting('wal_level'), "
        "pg_catalog.current_setting('full_page_writes')::bool, "
        "pg_catalog.current_setting('data_checksums')::bool "
        "OR pg_catalog.current_setting('wal_log_hints')::bool, "
        "pg_catalog.current_setting('block_size')::int");
    f.wal_level = settings.get(0, 0);
    f.full_page_writes = settings.get_bool(0, 1);
    f.hint_bits_logged = settings.get_bool(0, 2);
    f.block_size = static_cast<int>(settings.get_int(0, 3));
    return f;
}

}  // namespace partshift::plan
