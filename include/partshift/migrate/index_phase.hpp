// index_phase: the target's indexes, every table's one table after the other: in phase index
// the primary key and the non-unique indexes; during follow the secondary UNIQUE indexes,
// built concurrently beside the applier (DESIGN.md step 6). Also a multi-table job's primary
// keys made while its tables are still empty (for the foreign keys between them).
// Must not: change the job's phase or decide when a build starts (the script and the follow
// phase do).
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "partshift/migrate/job_records.hpp"
#include "partshift/migrate/run_context.hpp"

namespace partshift::migrate {

enum class index_kind { primary_and_plain, unique };

// build_job_indexes returns false when a stop came first (a rerun finishes the build).
boost::asio::awaitable<bool> build_job_indexes(run_context& ctx, index_kind kind);

// build_primary_keys_now: the primary keys of the tables flagged in `which` (by group
// position), blocking, before anything is copied.
void build_primary_keys_now(const std::string& dsn, const std::vector<table_ref>& tables,
                            const std::vector<bool>& which);

}  // namespace partshift::migrate
