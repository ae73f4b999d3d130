// job_file: JSON → proto::job_file (protobuf's JSON parser) → the command line's partition
// options → plan::partition_spec per table.
#include "partshift/cli/job_file.hpp"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "job_file.pb.h"
#include "partshift/cli/partition_options.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {
namespace po = boost::program_options;

namespace {

// spec_of: the table's options as command-line arguments, parsed by partition_spec_from.
plan::partition_spec spec_of(const proto::job_file_table& t) {
    std::vector<std::string> args;
    auto add = [&](const char* option, const std::string& value) {
        if (value.empty()) return;
        args.push_back(std::string("--") + option);
        args.push_back(value);
    };
    auto add_number = [&](const char* option, int64_t value) {
        if (value != 0) add(option, std::to_string(value));
    };
    add("partition-by", t.partition_by());
    add("key", t.key());
    add("interval", t.interval());
    add_number("step", t.step());
    // Lists are checked for presence here and taken exactly from the file below: a value in
    // the file may hold a comma, which --values cannot carry.
    if (t.values_size() > 0) add("values", "v");
    add_number("modulus", t.modulus());
    add("subpartition-by", t.subpartition_by());
    add("subkey", t.subkey());
    add("subinterval", t.subinterval());
    add_number("substep", t.substep());
    if (t.subvalues_size() > 0) add("subvalues", "v");
    add_number("submodulus", t.submodulus());
    add_number("premake", t.premake());
    if (t.has_default_partition())
        args.push_back(t.default_partition() ? "--default-partition" : "--no-default-partition");

    po::variables_map vm;
    po::store(po::command_line_parser(args).options(partition_options_description()).run(), vm);
    po::notify(vm);
    auto spec = partition_spec_from(vm);
    auto exact = [](const google::protobuf::RepeatedPtrField<std::string>& values) {
        return std::vector<std::string>(values.begin(), values.end());
    };
    if (t.values_size() > 0) spec.level1.values = exact(t.values());
    if (spec.level2 && t.subvalues_size() > 0) spec.level2->values = exact(t.subvalues());
    return spec;
}

}  // namespace

job_file parse_job_file(const std::string& text, const std::string& path) {
    proto::job_file file;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;  // a misspelt option must not be silently dropped
    const auto status = google::protobuf::util::JsonStringToMessage(text, &file, options);
    if (!status.ok()) {
        std::string message(status.message());
        std::replace(message.begin(), message.end(), '\n', ' ');
        throw usage_error("job file " + path + ": " + message);
    }
    if (file.tables_size() < 2)
        throw usage_error("job file " + path +
                          ": list two or more tables under \"tables\" (one table: use --table)");
    job_file out;
    if (!file.job().empty()) out.job = file.job();
    std::set<std::string> seen;
    for (int i = 0; i < file.tables_size(); ++i) {
        const auto& t = file.tables(i);
        const std::string where = "job file " + path + ", table " + std::to_string(i + 1);
        if (t.table().empty()) throw usage_error(where + ": \"table\" is required");
        if (!seen.insert(t.table()).second)
            throw usage_error("job file " + path + ": table " + t.table() + " is listed twice");
        job_file_table table;
        table.table = t.table();
        try {
            table.spec = spec_of(t);
        } catch (const usage_error& e) {
            throw usage_error(where + " (" + t.table() + "): " + e.what());
        } catch (const po::error& e) {
            throw usage_error(where + " (" + t.table() + "): " + e.what());
        }
        if (!t.target_name().empty()) table.target_name = t.target_name();
        if (!t.old_name().empty()) table.old_name = t.old_name();
        out.tables.push_back(std::move(table));
    }
    return out;
}

job_file read_job_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw usage_error("cannot read the job file " + path);
    std::stringstream text;
    text << in.rdbuf();
    return parse_job_file(text.str(), path);
}

}  // namespace partshift::cli
