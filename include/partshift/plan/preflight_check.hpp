// preflight_check: the result of one preflight check (wal_level, slots, privileges, key, ...),
// as produced by the preflight role and shown by `plan`. Plain data only.
#pragma once

#include <string>

namespace partshift::plan {

struct preflight_check {
    std::string name;  // "wal_level", "replication_slots", ...
    bool ok = false;
    bool fatal = false;   // a failed fatal check stops `run` (exit 3)
    std::string message;  // what was found, and for failures how to fix it
};

}  // namespace partshift::plan
