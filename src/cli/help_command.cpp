// partshift help: a command's help, the man page or the bash completion, all made from
// option_table (the build writes the man page and the completion for the package this way).
// Wiring only.
#include <iostream>

#include "partshift/cli/commands.hpp"
#include "partshift/cli/generated_docs.hpp"
#include "partshift/cli/option_parsing.hpp"
#include "partshift/error.hpp"

namespace partshift::cli {

int command_help(const arguments& args) {
    const auto commands = command_table();
    if (!args.empty() && args[0].rfind("-", 0) != 0) {
        const auto* command = find_command(commands, args[0]);
        if (!command || args.size() > 1)
            throw usage_error("partshift help takes one command name (plan, run, ...), not '" +
                              args[0] + "'");
        std::cout << help_text(*command);
        return 0;
    }
    const auto parsed = parse_command("help", args);
    if (!parsed) return 0;
    const auto& vm = *parsed;
    if (flag(vm, "man")) {
        std::cout << man_page();
        return 0;
    }
    if (auto shell = optional_string(vm, "completion")) {
        if (*shell != "bash") throw usage_error("--completion takes bash, not '" + *shell + "'");
        std::cout << bash_completion();
        return 0;
    }
    print_usage(std::cout);
    return 0;
}

}  // namespace partshift::cli
