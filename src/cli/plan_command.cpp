// partshift plan: not built yet.
#include "partshift/cli/commands.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {

int command_plan(const arguments&) { throw usage_error("'plan' is not implemented yet"); }

}  // namespace partshift::cli
