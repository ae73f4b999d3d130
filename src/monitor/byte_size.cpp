// byte_size: formatting only.
#include "partshift/monitor/byte_size.hpp"

#include <cstdio>

namespace partshift::monitor {

std::string human_size(double bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    int unit = 0;
    while (bytes >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return buf;
}

}  // namespace partshift::monitor
