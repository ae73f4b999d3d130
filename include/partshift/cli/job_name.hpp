// job_name: the one rule that names a job when --job is not given, for run, plan --spec and
// plan --next-partitions alike. Pure; unit-tested.
#pragma once

#include <optional>
#include <string>

#include "partshift/catalog/table_model.hpp"

namespace partshift::cli {

// job_name: `given` (--job), else `file_job` (a job file's "job"), else the (first) table's
// name without its schema: `partshift run --table billing.events` is job "events".
std::string job_name(const std::optional<std::string>& given,
                     const std::optional<std::string>& file_job,
                     const catalog::qualified_name& first_table);

}  // namespace partshift::cli
