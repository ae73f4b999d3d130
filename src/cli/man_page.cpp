// man_page: partshift(1) from option_table. Prose that is not about one option (description,
// values, environment, example) is here; every option and command comes from the table.
// Must not: list an option by hand (the docs test checks the page covers every --help).
#include <sstream>

#include "partshift/cli/generated_docs.hpp"
#include "partshift/cli/option_table.hpp"

namespace partshift::cli {
namespace {

// roff: text escaped for a man page: backslashes, hyphens (\- so they copy as ASCII) and a
// leading dot or quote, which roff would read as a request.
std::string roff(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
    }
    if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
    return out;
}

std::string option_label(const option_def& o) {
    std::string label = "\\fB" + roff("--" + o.name) + "\\fR";
    if (!o.value_name.empty()) label += " \\fI" + roff(o.value_name) + "\\fR";
    return label;
}

void write_synopsis(std::ostream& out, const std::vector<command_def>& commands) {
    out << ".SH SYNOPSIS\n";
    for (const auto& c : commands)
        for (const auto& line : c.usage) out << roff(line) << "\n.br\n";
}

void write_commands(std::ostream& out, const std::vector<command_def>& commands) {
    out << ".SH COMMANDS\n";
    for (const auto& c : commands) {
        out << ".TP\n.B " << c.name << "\n" << roff(c.description) << "\n";
        for (const auto& g : c.groups) {
            out << ".br\n" << roff(g.title) << ":";
            for (size_t i = 0; i < g.options.size(); ++i)
                out << (i ? ", " : " ") << "\\fB" << roff("--" + g.options[i].name) << "\\fR";
            out << "\n";
        }
    }
}

void write_options(std::ostream& out) {
    out << ".SH OPTIONS\n"
           "Each command takes the options listed with it above; an option means the same "
           "wherever it appears.\n";
    for (const auto& g : option_groups()) {
        out << ".SS " << roff(g.title) << "\n";
        for (const auto& o : g.options) {
            out << ".TP\n" << option_label(o) << "\n" << roff(o.help);
            if (!o.default_text.empty()) out << " (default " << roff(o.default_text) << ")";
            out << "\n";
        }
    }
}

void write_exit_status(std::ostream& out) {
    out << ".SH EXIT STATUS\n";
    for (const auto& [code, meaning] : exit_code_table())
        out << ".TP\n.B " << code << "\n" << roff(meaning) << "\n";
}

constexpr const char* description = R"(.SH DESCRIPTION
.B partshift
copies a table into a declaratively partitioned one (RANGE, LIST, HASH, two levels) in
parallel chunks while it streams the table's changes from a logical replication slot
(pgoutput) into a durable local spool, replays them until the partitioned table is current,
and then swaps the two tables under a lock held for milliseconds. The application keeps
reading and writing the table throughout. A stopped or crashed run resumes from its
checkpoint when run again. With a revert window, the original table is kept current after the
swap, so
.B partshift revert
can swap back without losing a write.
.PP
.B partshift \-\-help
lists the commands and
.B partshift
.I COMMAND
.B \-\-help
a command's options, grouped by concern. The README shipped with the sources describes each
in full.
)";

constexpr const char* values = R"(.SH VALUES
.TP
.I DURATION
A whole number with a unit: ms, s, m (or min), h; units add up: 500ms, 30s, 10m, 1h, 1h30m.
.TP
.I SIZE
A whole number of bytes, or with a binary unit in any case: k/kB/KiB, M/MB/MiB, G/GB/GiB,
T/TB/TiB (1G = 1GB = 1GiB = 2^30 bytes, as PostgreSQL counts its own settings).
)";

constexpr const char* environment = R"(.SH ENVIRONMENT
.TP
.BR PGHOST ", " PGPORT ", " PGUSER ", " PGDATABASE ", " PGPASSFILE ", " PGSERVICEFILE ", ..."
As in psql, when the DSN leaves them out.
.TP
.B PARTSHIFT_LOG_LEVEL
trace, debug, info (default), warn, error, critical or off;
.B \-\-log\-level
replaces it.
.SH EXAMPLE
.nf
partshift plan \-\-dsn "host=db1 dbname=shop" \-\-table events \e
    \-\-partition\-by range \-\-key ts \-\-interval \(aq1 month\(aq \-\-premake 3
partshift run \-\-dsn "host=db1 dbname=shop" \-\-table events \e
    \-\-partition\-by range \-\-key ts \-\-interval \(aq1 month\(aq \-\-premake 3
.fi
.SH SEE ALSO
.BR psql (1),
.BR pg_dump (1)
)";

}  // namespace

std::string man_page() {
    const auto commands = command_table();
    std::ostringstream out;
    out << ".TH PARTSHIFT 1 \"\" \"partshift " << PARTSHIFT_VERSION << "\" \"User Commands\"\n"
        << ".SH NAME\npartshift \\- turn a live PostgreSQL table into a partitioned one without "
           "downtime\n";
    write_synopsis(out, commands);
    out << description;
    write_commands(out, commands);
    write_options(out);
    out << values;
    write_exit_status(out);
    out << environment;
    return out.str();
}

}  // namespace partshift::cli
