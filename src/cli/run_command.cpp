// partshift run: not built yet.
#include "partshift/cli/commands.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {

int command_run(const arguments&) { throw usage_error("'run' is not implemented yet"); }

}  // namespace partshift::cli
