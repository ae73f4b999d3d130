// partshift status: not built yet.
#include "partshift/cli/commands.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {

int command_status(const arguments&) { throw usage_error("'status' is not implemented yet"); }

}  // namespace partshift::cli
