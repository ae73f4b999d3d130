// trusted_path: whether someone other than the running user (or root) could change what
// partshift finds at a path: the spool root (a job's acknowledged changes live there) and the
// hooks directory (partshift executes what it holds). A directory anyone else can write lets
// them swap a job's spool or plant a hook; so does one they own, or any directory above it.
// Must not: create, fix or remove anything; it only looks (stat) and says why not.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace partshift::spool {

// untrusted_reason: why an entry with this mode and owner could be changed by someone other
// than `euid` or root ("is writable by others (mode 0777) and has no sticky bit", "is owned by
// uid 1001"); nullopt when it cannot. `sticky_ok`: group/other write is fine with the sticky
// bit (/tmp: others may add entries, but not rename or remove ours). Pure.
std::optional<std::string> untrusted_reason(mode_t mode, uid_t owner, uid_t euid, bool sticky_ok);

// check_trusted_directory throws preflight_error (exit 3), naming the directory at fault and
// the fix, unless `path` and every directory above it up to / can be changed only by the
// running user or root. Both the path as given and where its symlinks lead are checked.
// `what` names the option ("--spool-dir"). A sticky, world-writable directory is fine above
// `path`; for `path` itself only when `sticky_ok` (the spool root: partshift creates its
// entries without following links and checks they are its own; never the hooks directory,
// whose entries it executes).
void check_trusted_directory(const std::string& path, const std::string& what, bool sticky_ok);

// untrusted_file_reason: why the file at `path` (a hook) could have been changed by someone
// other than the running user or root; nullopt when it could not (or it is not there).
std::optional<std::string> untrusted_file_reason(const std::string& path);

}  // namespace partshift::spool
