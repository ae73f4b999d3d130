// preflight_check: the outcome of one preflight check (DESIGN.md §1 step 1), shown by `plan`
// and enforced by `run`. Plain data.
#pragma once

#include <string>

namespace partshift::plan {

struct preflight_check {
    std::string name;
    bool ok = true;
    bool fatal = false;   // a failed fatal check stops `run` (exit 3); others are warnings
    std::string message;  // one line: what was found and how to fix it
};

}  // namespace partshift::plan
