// partition_options: PARTITION-OPTIONS → plan::partition_spec (see the header). Wiring and
// syntax only: must not look at the table or the server.
#include "partshift/cli/partition_options.hpp"

#include <charconv>
#include <optional>

#include "partshift/cli/option_parsing.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {
namespace {

std::optional<std::string> get(const po::variables_map& vm, const char* name) {
    if (vm.count(name) == 0) return std::nullopt;
    return vm[name].as<std::string>();
}

plan::partition_method parse_method(const std::string& text, const char* option) {
    if (auto method = plan::method_from_name(text)) return *method;
    throw usage_error(std::string("--") + option + ": unknown partitioning method '" + text +
                      "' (use range, list or hash)");
}

std::optional<long long> parse_integer(std::string_view text) {
    long long v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

int parse_modulus(const std::string& text, const char* option) {
    auto v = parse_integer(text);
    // PostgreSQL accepts larger moduli, but more than 10000 partitions is refused anyway.
    if (!v || *v <= 0 || *v > 10000)
        throw usage_error(std::string("--") + option +
                          " must be a whole number from 1 to 10000, got '" + text + "'");
    return static_cast<int>(*v);
}

std::string parse_step(const std::string& text, const char* option) {
    auto v = parse_integer(text);
    if (!v || *v <= 0)
        throw usage_error(std::string("--") + option + " must be a positive whole number, got '" +
                          text + "'");
    return std::to_string(*v);
}

// level_names: the option names of one level, so both levels share one parser.
struct level_names {
    const char* method;
    const char* key;
    const char* interval;
    const char* step;
    const char* values;
    const char* modulus;
};

constexpr level_names level1_names{"partition-by", "key", "interval", "step", "values", "modulus"};
constexpr level_names level2_names{"subpartition-by", "subkey",    "subinterval",
                                   "substep",         "subvalues", "submodulus"};

std::string opt(const char* name) {
    return std::string("--") + name;
}

plan::level_spec parse_level(const po::variables_map& vm, const level_names& n) {
    plan::level_spec level;
    level.method = parse_method(*get(vm, n.method), n.method);
    auto key = get(vm, n.key);
    if (!key || key->empty()) throw usage_error(opt(n.method) + " needs " + opt(n.key) + " COLUMN");
    level.key = *key;

    auto interval = get(vm, n.interval);
    auto step = get(vm, n.step);
    auto values = get(vm, n.values);
    auto modulus = get(vm, n.modulus);
    const std::string method_text = *get(vm, n.method);

    auto refuse = [&](const std::optional<std::string>& given, const char* option) {
        if (given)
            throw usage_error(opt(option) + " does not apply to " + method_text + " partitioning");
    };
    switch (level.method) {
        case plan::partition_method::range:
            refuse(values, n.values);
            refuse(modulus, n.modulus);
            if (interval && step)
                throw usage_error(opt(n.interval) + " and " + opt(n.step) +
                                  " are mutually exclusive (interval for dates and timestamps, "
                                  "step for integers)");
            if (!interval && !step)
                throw usage_error("range partitioning needs " + opt(n.interval) +
                                  " (dates, timestamps) or " + opt(n.step) + " (integers)");
            if (interval) {
                if (interval->find_first_not_of(" \t") == std::string::npos)
                    throw usage_error(opt(n.interval) + " must not be empty");
                level.interval = *interval;
            }
            if (step) level.step = parse_step(*step, n.step);
            break;
        case plan::partition_method::list:
            refuse(interval, n.interval);
            refuse(step, n.step);
            refuse(modulus, n.modulus);
            if (values) level.values = split_values(*values, opt(n.values));
            break;
        case plan::partition_method::hash:
            refuse(interval, n.interval);
            refuse(step, n.step);
            refuse(values, n.values);
            if (!modulus) throw usage_error("hash partitioning needs " + opt(n.modulus) + " N");
            level.modulus = parse_modulus(*modulus, n.modulus);
            break;
    }
    return level;
}

}  // namespace

po::options_description partition_options_description() {
    // Declared once, in option_table, with the commands' other options.
    return describe(partition_options_group());
}

plan::partition_spec partition_spec_from(const po::variables_map& vm) {
    plan::partition_spec spec;
    if (!get(vm, "partition-by")) throw usage_error("--partition-by range|list|hash is required");
    spec.level1 = parse_level(vm, level1_names);

    const bool has_sub = get(vm, "subpartition-by").has_value();
    if (has_sub) {
        spec.level2 = parse_level(vm, level2_names);
    } else {
        for (const char* o : {"subkey", "subinterval", "substep", "subvalues", "submodulus"})
            if (vm.count(o)) throw usage_error(opt(o) + " needs --subpartition-by");
    }
    if (spec.level2 && spec.level2->key == spec.level1.key &&
        (spec.level1.method == plan::partition_method::hash ||
         spec.level2->method == plan::partition_method::hash ||
         spec.level1.method == spec.level2->method))
        throw usage_error("--subkey '" + spec.level2->key + "' is the same as --key: with " +
                          "this method the second level would not split anything");

    if (auto premake = get(vm, "premake")) {
        auto v = parse_integer(*premake);
        if (!v || *v < 0 || *v > 10000)
            throw usage_error("--premake must be a whole number from 0 to 10000, got '" + *premake +
                              "'");
        const bool any_range =
            spec.level1.method == plan::partition_method::range ||
            (spec.level2 && spec.level2->method == plan::partition_method::range);
        if (*v > 0 && !any_range) throw usage_error("--premake only applies to range partitioning");
        spec.premake = static_cast<int>(*v);
    } else if (spec.level1.method == plan::partition_method::range ||
               (spec.level2 && spec.level2->method == plan::partition_method::range)) {
        // Not the partition that holds today as the last one: the table would stop taking
        // rows within one interval.
        spec.premake = plan::default_premake;
    }

    const bool with_default = vm.count("default-partition") && vm["default-partition"].as<bool>();
    const bool without_default =
        vm.count("no-default-partition") && vm["no-default-partition"].as<bool>();
    if (with_default && without_default)
        throw usage_error("--default-partition and --no-default-partition are mutually exclusive");
    if (with_default) {
        // PostgreSQL: "a hash-partitioned table may not have a default partition".
        if (spec.level1.method == plan::partition_method::hash &&
            (!spec.level2 || spec.level2->method == plan::partition_method::hash))
            throw usage_error("--default-partition: hash partitioning has no default partition");
        spec.default_partition = true;
    }
    if (without_default) spec.default_partition = false;
    return spec;
}

std::vector<std::string> split_values(std::string_view text, const std::string& option) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        std::string_view item = text.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        const auto first = item.find_first_not_of(" \t");
        if (first == std::string_view::npos)
            throw usage_error(option + ": empty item in '" + std::string(text) + "'");
        const auto last = item.find_last_not_of(" \t");
        out.emplace_back(item.substr(first, last - first + 1));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

}  // namespace partshift::cli
