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
    // on_resume: a failure stops a resumed job too, not only a new one. For what is judged
    // afresh on every run and must not be carried from an earlier verdict (the table owner's
    // code: its owner may have changed it since).
    bool on_resume = false;
};

}  // namespace partshift::plan
