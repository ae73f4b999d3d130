// job_spec_codec: the partition spec stored with a job (partshift.jobs.spec, a serialized
// partshift.proto.job_spec), so a resumed run uses exactly the spec the job started with.
// Pure conversions; round-trip tested.
#pragma once

#include <string>

#include "job.pb.h"
#include "partshift/plan/partition_spec.hpp"

namespace partshift::state {

proto::job_spec to_proto(const plan::partition_spec& spec);
plan::partition_spec from_proto(const proto::job_spec& message);

// describe_spec: the spec as the command-line options that produce it, for messages.
std::string describe_spec(const plan::partition_spec& spec);

}  // namespace partshift::state
