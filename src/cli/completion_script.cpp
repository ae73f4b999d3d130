// completion_script: the bash completion from option_table: commands, each command's options,
// and the values of options whose values are few (choices) or paths (files, directories).
// Must not: call partshift at completion time (the table is written into the script).
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "partshift/cli/generated_docs.hpp"
#include "partshift/cli/option_table.hpp"

namespace partshift::cli {
namespace {

// value_cases: `case $prev in` arms, one per distinct way of completing a value.
std::string value_cases() {
    std::map<std::string, std::set<std::string>> by_action;  // compgen arguments → options
    for (const auto& g : option_groups())
        for (const auto& o : g.options) {
            std::string action;
            if (o.kind == value_kind::file)
                action = "-f";
            else if (o.kind == value_kind::directory)
                action = "-d";
            else if (o.kind == value_kind::choice) {
                action = "-W \"";
                for (size_t i = 0; i < o.choices.size(); ++i)
                    action += (i ? " " : "") + o.choices[i];
                action += "\"";
            }
            if (!action.empty()) by_action[action].insert("--" + o.name);
        }
    std::ostringstream out;
    for (const auto& [action, options] : by_action) {
        out << "        ";
        bool first = true;
        for (const auto& o : options) out << (std::exchange(first, false) ? "" : "|") << o;
        out << ")\n            COMPREPLY=($(compgen " << action << " -- \"$cur\")); return 0 ;;\n";
    }
    return out.str();
}

std::string command_cases(const std::vector<command_def>& commands) {
    std::ostringstream out;
    for (const auto& c : commands) {
        out << "        " << c.name << ") options=\"--help";
        for (const auto& g : c.groups)
            for (const auto& o : g.options) out << " --" << o.name;
        out << "\" ;;\n";
    }
    return out.str();
}

}  // namespace

std::string bash_completion() {
    const auto commands = command_table();
    std::string names;
    for (const auto& c : commands) names += (names.empty() ? "" : " ") + c.name;
    std::ostringstream out;
    out << "# bash completion for partshift " << PARTSHIFT_VERSION
        << ", made by `partshift help --completion bash`\n"
           "# from the option definitions --help and the man page are made from.\n"
           "_partshift() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]}\n"
           "    local prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "    local commands=\""
        << names
        << "\"\n"
           "    COMPREPLY=()\n"
           "    if [[ $COMP_CWORD -eq 1 ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$commands --help --version\" -- \"$cur\"))\n"
           "        return 0\n"
           "    fi\n"
           "    case $prev in\n"
        << value_cases()
        << "    esac\n"
           "    local options=\"\"\n"
           "    case ${COMP_WORDS[1]} in\n"
        << command_cases(commands)
        << "    esac\n"
           "    if [[ $cur == -* ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$options\" -- \"$cur\"))\n"
           "    elif [[ ${COMP_WORDS[1]} == help && $COMP_CWORD -eq 2 ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\"))\n"
           "    fi\n"
           "    return 0\n"
           "}\n"
           "complete -F _partshift partshift\n";
    return out.str();
}

}  // namespace partshift::cli
