// byte_size: how partshift prints a byte count to people (status, the WAL guard's messages).
#pragma once

#include <string>

namespace partshift::monitor {

// human_size: "3.3 MB" (binary units, one decimal; whole bytes below 1 kB).
std::string human_size(double bytes);

}  // namespace partshift::monitor
