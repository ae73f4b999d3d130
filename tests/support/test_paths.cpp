// test_paths: the paths CMake gives this file alone (test_paths.hpp says why).
#include "support/test_paths.hpp"

namespace partshift::testing {

const char* partshift_binary_path() {
    return PARTSHIFT_BINARY_PATH;
}
const char* source_dir_path() {
    return PARTSHIFT_SOURCE_PATH;
}

}  // namespace partshift::testing
