// partshift abort: not built yet.
#include "partshift/cli/commands.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {

int command_abort(const arguments&) { throw usage_error("'abort' is not implemented yet"); }

}  // namespace partshift::cli
