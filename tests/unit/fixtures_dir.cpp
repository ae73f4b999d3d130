// fixtures_dir: the path CMake gives this file alone, so no other unit test's compile command
// names the checkout (a fresh clone would miss ccache for all of them).
#include "unit/fixtures_dir.hpp"

namespace partshift::testing {

const char* fixtures_dir() {
    return PARTSHIFT_FIXTURES_PATH;
}

}  // namespace partshift::testing
