// test_paths: where the integration tests find the partshift binary and the source tree.
// Functions, not compile definitions on every test file: a definition naming the checkout's
// path makes each fresh clone (CI) miss ccache for every test file; test_paths.cpp alone is
// compiled with the paths. The macros keep the call sites as they were.
#pragma once

namespace partshift::testing {

const char* partshift_binary_path();
const char* source_dir_path();

}  // namespace partshift::testing

#define PARTSHIFT_BINARY (::partshift::testing::partshift_binary_path())
#define PARTSHIFT_SOURCE_DIR (::partshift::testing::source_dir_path())
