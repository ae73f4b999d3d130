// option_parsing: option_table → Boost.Program_options, --help text, value readers. No I/O
// except printing --help.
#include "partshift/cli/option_parsing.hpp"

#include <charconv>
#include <iostream>
#include <sstream>

#include "partshift/error.hpp"

namespace partshift::cli {

namespace {

// Descriptions start at column 36 at most: a longer option name
// ("--cutover-terminate-blockers-after DURATION") puts its description on the next line.
constexpr unsigned help_line_length = 100;
constexpr unsigned min_description_length = 64;

// wrap: a paragraph broken into lines of at most `width` characters, at spaces.
std::string wrap(const std::string& text, size_t width) {
    std::istringstream words(text);
    std::string out, line;
    for (std::string word; words >> word;) {
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            out += line + "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    return out + line + "\n";
}

std::string help_of(const option_def& o) {
    return o.default_text.empty() ? o.help : o.help + " (default " + o.default_text + ")";
}

}  // namespace

po::options_description describe(const option_group& group) {
    po::options_description d(group.title, help_line_length, min_description_length);
    for (const auto& o : group.options) {
        const std::string help = help_of(o);
        if (o.kind == value_kind::flag)
            d.add_options()(o.name.c_str(), po::bool_switch(), help.c_str());
        else
            d.add_options()(o.name.c_str(), po::value<std::string>()->value_name(o.value_name),
                            help.c_str());
    }
    return d;
}

namespace {

po::options_description describe(const command_def& command) {
    po::options_description all(help_line_length, min_description_length);
    all.add_options()("help,h", "show this help");
    for (const auto& g : command.groups) all.add(describe(g));
    return all;
}

}  // namespace

std::string help_text(const command_def& command) {
    std::ostringstream out;
    for (size_t i = 0; i < command.usage.size(); ++i)
        out << (i == 0 ? "usage: " : "       ") << command.usage[i] << "\n";
    out << "\n" << wrap(command.description, help_line_length) << "\n" << describe(command) << "\n";
    out << "DURATION: 500ms, 30s, 10m, 1h, 1h30m. SIZE: 512MB, 20G, 1GiB (binary units) or "
           "bytes.\n";
    return out.str();
}

po::variables_map parse_options(const command_def& command, const arguments& args) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(describe(command)).run(), vm);
    po::notify(vm);
    return vm;
}

std::optional<po::variables_map> parse_command(std::string_view name, const arguments& args) {
    const auto commands = command_table();
    const command_def* command = find_command(commands, name);
    if (!command) throw std::logic_error("parse_command: no command " + std::string(name));
    auto vm = parse_options(*command, args);
    if (vm.count("help")) {
        std::cout << help_text(*command);
        return std::nullopt;
    }
    return vm;
}

bool flag(const po::variables_map& vm, const char* name) {
    return vm.count(name) > 0 && vm[name].as<bool>();
}

std::optional<std::string> optional_string(const po::variables_map& vm, const char* name) {
    if (!vm.count(name)) return std::nullopt;
    return vm[name].as<std::string>();
}

int parse_count(const std::string& text, const std::string& option, int min, int max) {
    int v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
        throw usage_error("--" + option + " takes a number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", not '" + text + "'");
    return v;
}

int parse_catch_up_pace(const std::string& text) {
    std::string digits = text;
    if (!digits.empty() && digits.back() == '%') digits.pop_back();
    return parse_count(digits, "catch-up-pace", 1, 100);
}

}  // namespace partshift::cli
