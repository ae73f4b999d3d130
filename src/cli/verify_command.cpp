// partshift verify: not built yet.
#include "partshift/cli/commands.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {

int command_verify(const arguments&) { throw usage_error("'verify' is not implemented yet"); }

}  // namespace partshift::cli
