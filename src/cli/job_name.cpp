// job_name: the default job name rule. No I/O.
#include "partshift/cli/job_name.hpp"

namespace partshift::cli {

std::string job_name(const std::optional<std::string>& given,
                     const std::optional<std::string>& file_job,
                     const catalog::qualified_name& first_table) {
    if (given) return *given;
    if (file_job) return *file_job;
    return first_table.name;
}

}  // namespace partshift::cli
