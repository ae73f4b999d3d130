// job_file: the JSON job file of a multi-table job (`plan --spec FILE`, `run --spec FILE`,
// proto/job_file.proto) → the tables with their partition specs. Each table's options go
// through the same parser as the command line's, so they get the same checks and messages.
// Syntax only: whether the tables exist and the specs fit them is the planner's job.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "partshift/plan/partition_spec.hpp"

namespace partshift::cli {

struct job_file_table {
    std::string table;  // as SQL writes it
    plan::partition_spec spec;
    std::optional<std::string> target_name;
    std::optional<std::string> old_name;
};

struct job_file {
    std::optional<std::string> job;
    std::vector<job_file_table> tables;  // in file order; two or more
};

// parse_job_file: `text` is the file's content, `path` names it in errors. Throws
// usage_error (exit 2) with one line: not JSON, an unknown field, fewer than two tables, a
// table listed twice, a table without partition options, or options that do not fit together.
job_file parse_job_file(const std::string& text, const std::string& path);

// read_job_file: the same for a file on disk (a missing or unreadable file is a usage_error).
job_file read_job_file(const std::string& path);

}  // namespace partshift::cli
