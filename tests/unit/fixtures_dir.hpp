// fixtures_dir: tests/fixtures in the source tree (fixtures_dir.cpp).
#pragma once

namespace partshift::testing {

const char* fixtures_dir();

}  // namespace partshift::testing
