// partition_options: the PARTITION-OPTIONS of `plan` and `run` (DESIGN.md §5) as a
// Boost.Program_options description, and their translation into a plan::partition_spec with
// one-line usage errors. Checks only what the options say by themselves; whether they fit the
// table (column exists, type fits) is plan::validate_spec's job.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "partshift/plan/partition_spec.hpp"

namespace partshift::cli {

// partition_options_description: --partition-by, --key, --interval, --step, --values,
// --modulus, --subpartition-by, --subkey, --subinterval, --substep, --subvalues, --submodulus,
// --premake, --default-partition, --no-default-partition. All values are taken as strings and
// checked by partition_spec_from(), so every bad value gets the same kind of message.
boost::program_options::options_description partition_options_description();

// partition_spec_from builds the spec from parsed options; throws partshift::usage_error (exit 2)
// with a one-line reason for any inconsistent or malformed combination.
plan::partition_spec partition_spec_from(const boost::program_options::variables_map& vm);

// split_values splits a --values argument on commas and trims spaces and tabs around each item.
// There is no escaping: a list value cannot contain a comma on the command line (it is rare for
// partition keys; such tables can omit --values and let partshift discover the values). Empty
// items are a usage_error.
std::vector<std::string> split_values(std::string_view text,
                                      const std::string& option = "--values");

}  // namespace partshift::cli
