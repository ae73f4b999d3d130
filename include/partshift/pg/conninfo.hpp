// conninfo: what a connection string (key=value or URI) says, read with libpq's own parser
// (PQconninfoParse), so partshift never disagrees with libpq about where a password is.
// Used to keep secrets out of what others can see: a hook's environment, the process's argv.
// Must not: connect, or fill in defaults (PG* variables, .pgpass): only what the string says.
#pragma once

#include <string>
#include <string_view>

namespace partshift::pg {

// conninfo_password: the password the string sets ("" when none, or when libpq cannot parse
// it). `sslpassword` (the client key's passphrase) counts as a password too.
std::string conninfo_password(std::string_view conninfo);

// conninfo_without_password: the string's settings in key='value' form without password and
// sslpassword; "" for an empty string. Throws usage_error when libpq cannot parse it.
std::string conninfo_without_password(std::string_view conninfo);

// mask_password_in_place overwrites the password in `text` (a NUL-terminated argv string
// holding a connection string, or `--option=` and one) with 'x', keeping its length, so a
// look at /proc/PID/cmdline or ps no longer shows it. Where the password is not written
// literally (percent-encoded, quoted with escapes) the whole string is masked. Returns true
// when it changed anything.
bool mask_password_in_place(char* text);

}  // namespace partshift::pg
