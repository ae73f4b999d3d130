// job_error: a failure of a job's run, with the job and the phase it failed in, so the line
// the run ends with can name them (--log-format json: the `error` line's `job` and `phase`).
// It stands for the failure it wraps: the same exit code (DESIGN.md §5) and message.
// Must not: be thrown where code still tells failures apart by type (the revert window's
// runner does); the run wraps its failure only on its way out to the CLI.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "partshift/error.hpp"

namespace partshift {

class job_error : public error {
  public:
    job_error(exit_code code, const std::string& message, std::string job, std::string phase)
        : error(code, message), job_(std::move(job)), phase_(std::move(phase)) {}
    const std::string& job() const noexcept { return job_; }
    const std::string& phase() const noexcept { return phase_; }

    // of: `e` as a failure of `job` in `phase`; anything that is not a partshift::error is a
    // runtime failure (exit 1), as the CLI maps it.
    static job_error of(const std::exception& e, std::string job, std::string phase) {
        const auto* typed = dynamic_cast<const error*>(&e);
        return {typed ? typed->code() : exit_code::runtime_failure, e.what(), std::move(job),
                std::move(phase)};
    }

  private:
    std::string job_;
    std::string phase_;
};

}  // namespace partshift
