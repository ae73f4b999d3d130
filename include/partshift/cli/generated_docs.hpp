// generated_docs: the man page (roff) and the bash completion, made from option_table, the
// same definitions --help prints and the parser reads, so none of them can drift. The build
// writes both through `partshift help --man` / `--completion bash` and the package installs
// them. Pure: text out, nothing read.
#pragma once

#include <string>

namespace partshift::cli {

// man_page: partshift(1) for this version.
std::string man_page();

// bash_completion: a script for /usr/share/bash-completion/completions/partshift: commands,
// each command's options, and values where they are few (choices, files, directories).
std::string bash_completion();

}  // namespace partshift::cli
