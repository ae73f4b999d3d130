// copy_phase: phase copy of the script: the before-copy hook, every table's chunks copied
// (a multi-table job's one after the other, each with every worker, chunks kept under each
// table's own row) with the progress bar and the copy gate, then the after-copy hook.
// Must not: change the job's phase (the script does), or start roles of its own beyond the
// progress bar: the streamer runs beside it, started by the script.
#pragma once

#include <utility>  // before Asio's coroutine headers (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>

#include "partshift/migrate/run_context.hpp"

namespace partshift::migrate {

// run_copy_phase returns true once every table is copied, false when stopped first; throws
// what the copy threw.
boost::asio::awaitable<bool> run_copy_phase(run_context& ctx, const state::job_record& job);

}  // namespace partshift::migrate
