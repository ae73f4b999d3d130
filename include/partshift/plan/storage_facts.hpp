// storage_facts: reads what size_estimate needs: the source's table and index sizes (summed
// over its leaf partitions when the source is partitioned) and the WAL settings. Read-only
// queries through pg_catalog functions anyone may call; never changes anything.
// Must not: estimate (size_estimate does) or decide anything about the plan.
#pragma once

#include "partshift/catalog/table_model.hpp"
#include "partshift/pg/connection.hpp"
#include "partshift/plan/size_estimate.hpp"

namespace partshift::plan {

storage_facts read_storage_facts(pg::connection& conn, const catalog::table_model& table);

}  // namespace partshift::plan
