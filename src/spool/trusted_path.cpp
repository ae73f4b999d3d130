// trusted_path: the mode and owner checks of a path and of every directory above it.
#include "partshift/spool/trusted_path.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "partshift/error.hpp"

namespace partshift::spool {
namespace {

namespace fs = std::filesystem;

// chain: `path` and each directory above it, up to /.
std::vector<fs::path> chain(const fs::path& path) {
    std::vector<fs::path> out;
    for (fs::path p = path;; p = p.parent_path()) {
        out.push_back(p);
        if (p == p.root_path() || !p.has_relative_path()) break;
    }
    return out;
}

std::string fix_for(const std::string& reason, const std::string& dir) {
    if (reason.find("owned by") != std::string::npos)
        return fmt::format("chown {} {} (as root), or use a directory of your own", ::geteuid(),
                           dir);
    return fmt::format("chmod go-w {}, or use a directory only you can write to", dir);
}

}  // namespace

std::optional<std::string> untrusted_reason(mode_t mode, uid_t owner, uid_t euid, bool sticky_ok) {
    if (owner != euid && owner != 0)
        return fmt::format("is owned by uid {}, not by uid {} (you) or root", owner, euid);
    const bool writable = (mode & (S_IWGRP | S_IWOTH)) != 0;
    if (writable && !(sticky_ok && (mode & S_ISVTX)))
        return fmt::format("is writable by {} (mode {:04o}){}",
                           (mode & S_IWOTH) ? "others" : "its group", mode & 07777,
                           sticky_ok ? " and has no sticky bit" : "");
    return std::nullopt;
}

void check_trusted_directory(const std::string& path, const std::string& what, bool sticky_ok) {
    std::error_code ec;
    fs::path given = fs::absolute(path, ec).lexically_normal();
    if (!given.has_filename() && given.has_relative_path()) given = given.parent_path();  // "d/"
    const fs::path real = fs::canonical(path, ec);
    if (ec) throw usage_error(what + " " + path + " cannot be used: " + ec.message());
    // The path as given (a symlink on the way is looked up in the directory that holds it) and
    // the path its links resolve to (where the files really are).
    auto dirs = chain(given);
    for (const auto& d : chain(real)) dirs.push_back(d);
    const uid_t euid = ::geteuid();
    for (const auto& dir : dirs) {
        if (dir.empty()) continue;
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0)
            throw usage_error(what + " " + path + " cannot be used: " + dir.string() + ": " +
                              std::strerror(errno));
        const bool is_path = dir == given || dir == real;
        // Above the path, a sticky directory keeps others from renaming or removing the
        // entry that leads to it.
        auto reason = untrusted_reason(st.st_mode, st.st_uid, euid, !is_path || sticky_ok);
        if (!reason) continue;
        throw preflight_error(what + " " + path + " is not safe to use: " + dir.string() + " " +
                              *reason + ", so another user could replace what partshift " +
                              "keeps there; fix: " + fix_for(*reason, dir.string()));
    }
}

std::optional<std::string> untrusted_file_reason(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return untrusted_reason(st.st_mode, st.st_uid, ::geteuid(), /*sticky_ok=*/false);
}

}  // namespace partshift::spool
