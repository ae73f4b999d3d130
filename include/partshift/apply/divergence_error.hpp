// divergence_error: strict replay found the target disagreeing with a change (a row missing,
// one too many, or a row the target refuses as a duplicate). Its own type so that the revert
// window can tell a broken reverse stream from a failure a resumed run rides out. Exit 1, as
// any runtime failure. Must not: carry more than the one-line message.
#pragma once

#include "partshift/error.hpp"

namespace partshift::apply {

class divergence_error : public partshift::runtime_error {
  public:
    using partshift::runtime_error::runtime_error;
};

}  // namespace partshift::apply
