// job_spec_codec: partition_spec <-> proto::job_spec. No I/O.
#include "partshift/state/job_spec_codec.hpp"

#include <stdexcept>

namespace partshift::state {
namespace {

plan::partition_method method_from(const std::string& name) {
    if (auto method = plan::method_from_name(name)) return *method;
    throw std::runtime_error("stored job spec has an unknown partition method '" + name + "'");
}

proto::partition_level level_to_proto(const plan::level_spec& level) {
    proto::partition_level out;
    out.set_method(plan::method_name(level.method));
    out.set_key(level.key);
    if (level.interval) out.set_interval(*level.interval);
    if (level.step) out.set_step(*level.step);
    for (const auto& v : level.values) out.add_values(v);
    out.set_modulus(level.modulus);
    return out;
}

plan::level_spec level_from_proto(const proto::partition_level& level) {
    plan::level_spec out;
    out.method = method_from(level.method());
    out.key = level.key();
    if (!level.interval().empty()) out.interval = level.interval();
    if (!level.step().empty()) out.step = level.step();
    out.values.assign(level.values().begin(), level.values().end());
    out.modulus = level.modulus();
    return out;
}

std::string describe_level(const plan::level_spec& level, const std::string& prefix) {
    std::string out = "--" + prefix + "partition-by " + plan::method_name(level.method) + " --" +
                      (prefix.empty() ? "key " : "subkey ") + level.key;
    if (level.interval) out += " --" + prefix + "interval '" + *level.interval + "'";
    if (level.step) out += " --" + prefix + "step " + *level.step;
    if (!level.values.empty()) {
        out += " --" + prefix + "values ";
        for (size_t i = 0; i < level.values.size(); ++i) out += (i ? "," : "") + level.values[i];
    }
    if (level.modulus) out += " --" + prefix + "modulus " + std::to_string(level.modulus);
    return out;
}

}  // namespace

proto::job_spec to_proto(const plan::partition_spec& spec) {
    proto::job_spec out;
    *out.mutable_level1() = level_to_proto(spec.level1);
    if (spec.level2) *out.mutable_level2() = level_to_proto(*spec.level2);
    out.set_premake(spec.premake);
    out.set_default_partition_set(spec.default_partition.has_value());
    out.set_default_partition(spec.default_partition.value_or(false));
    return out;
}

plan::partition_spec from_proto(const proto::job_spec& message) {
    plan::partition_spec out;
    out.level1 = level_from_proto(message.level1());
    if (message.has_level2()) out.level2 = level_from_proto(message.level2());
    out.premake = message.premake();
    if (message.default_partition_set()) out.default_partition = message.default_partition();
    return out;
}

std::string describe_spec(const plan::partition_spec& spec) {
    std::string out = describe_level(spec.level1, "");
    if (spec.level2) out += " " + describe_level(*spec.level2, "sub");
    // Always for a range level: --premake's default changed (0, then 4), so a job started with
    // an older partshift says exactly which value resumes it.
    const bool range = spec.level1.method == plan::partition_method::range ||
                       (spec.level2 && spec.level2->method == plan::partition_method::range);
    if (spec.premake || range) out += " --premake " + std::to_string(spec.premake);
    if (spec.default_partition)
        out += *spec.default_partition ? " --default-partition" : " --no-default-partition";
    return out;
}

}  // namespace partshift::state
