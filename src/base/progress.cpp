// progress: names of the cutover stages as status shows them.
#include "partshift/base/progress.hpp"

namespace partshift::base {

const char* describe(cutover_stage stage) {
    switch (stage) {
        case cutover_stage::none:
            return "";
        case cutover_stage::catching_up:
            return "catching up before the cutover";
        case cutover_stage::waiting_for_request:
            return "waiting for cutover";
        case cutover_stage::postponed_by_flag_file:
            return "postponed while the --postpone-cutover-flag file exists";
        case cutover_stage::postponed_by_hook:
            return "postponed by the before-cutover hook";
        case cutover_stage::cutting_over:
            return "cutting over";
    }
    return "";
}

}  // namespace partshift::base
