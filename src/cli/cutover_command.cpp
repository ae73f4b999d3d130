// partshift cutover: not built yet.
#include "partshift/cli/commands.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {

int command_cutover(const arguments&) { throw usage_error("'cutover' is not implemented yet"); }

}  // namespace partshift::cli
