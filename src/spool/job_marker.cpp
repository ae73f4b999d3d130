// job_marker: write, check and guarded removal of a job's spool directory, every step relative
// to an opened directory and never through a symlink.
#include "partshift/spool/job_marker.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "partshift/base/unique_fd.hpp"
#include "partshift/error.hpp"
#include "partshift/spool/trusted_path.hpp"
#include "write_failure.hpp"

namespace partshift::spool {

using base::unique_fd;
namespace {

namespace fs = std::filesystem;

constexpr const char* marker_name = "JOB";
constexpr size_t max_marker_bytes = 4096;

std::string earlier_marker_text(const std::string& job, const std::string& slot) {
    return "partshift job " + job + " slot " + slot + "\n";
}

std::string marker_text(const std::string& job, const std::string& slot,
                        const spool_identity& identity) {
    return "partshift job " + job + " slot " + slot + " cluster " + identity.system_identifier +
           " database " + identity.database_oid + "\n";
}

std::string errno_text() {
    return std::strerror(errno);
}

// open_dir: a directory, never through a symlink at its last component.
unique_fd open_dir(int at, const char* name) {
    return unique_fd(::openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// split: the parent directory and the entry name of a spool directory.
std::pair<std::string, std::string> split(const std::string& dir) {
    fs::path p = fs::path(dir).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    const auto parent = p.parent_path();
    return {parent.empty() ? "." : parent.string(), p.filename().string()};
}

// read_marker: the marker's text; nullopt when the directory or the marker is not there (or
// either is a symlink).
std::optional<std::string> read_marker(const std::string& dir) {
    auto d = open_dir(AT_FDCWD, dir.c_str());
    if (!d) return std::nullopt;
    unique_fd f(::openat(d.get(), marker_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!f) return std::nullopt;
    std::string text;
    char buffer[512];
    for (;;) {
        const ssize_t n = ::read(f.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buffer, static_cast<size_t>(n));
        if (text.size() > max_marker_bytes) break;
    }
    return text;
}

// write_file_at: `name` in the directory `at`, created new (never through a symlink), written
// and fsynced.
void write_file_at(int at, const char* name, const std::string& text, const std::string& dir) {
    unique_fd f(::openat(at, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         S_IRUSR | S_IWUSR));
    if (!f) throw runtime_error("cannot write to the spool directory " + dir + ": " + errno_text());
    if (const int err = detail::write_fully(f.get(), text); err != 0)
        throw runtime_error("cannot write to the spool directory " + dir + ": " +
                            std::strerror(err));
    if (::fsync(f.get()) != 0)
        throw runtime_error("cannot write to the spool directory " + dir + ": " + errno_text());
}

// create_private_directories: create_directories, but every directory it makes is 0700
// whatever the umask (a umask of 002 would make a group-writable root that the trust check
// then refuses).
void create_private_directories(const fs::path& root, std::error_code& ec) {
    std::vector<fs::path> missing;
    for (fs::path p = fs::absolute(root, ec).lexically_normal(); !ec && !p.empty();
         p = p.parent_path()) {
        struct stat st {};
        if (::lstat(p.c_str(), &st) == 0) break;
        if (errno != ENOENT && errno != ENOTDIR) {
            ec = std::error_code(errno, std::generic_category());
            break;
        }
        missing.push_back(p);
        if (p == p.root_path()) break;
    }
    for (auto it = missing.rbegin(); !ec && it != missing.rend(); ++it)
        if (::mkdir(it->c_str(), S_IRWXU) != 0 && errno != EEXIST)
            ec = std::error_code(errno, std::generic_category());
}

}  // namespace

void check_spool_root(const std::string& root) {
    std::error_code ec;
    create_private_directories(root, ec);
    if (!ec && !fs::is_directory(root, ec) && !ec)
        ec = std::make_error_code(std::errc::not_a_directory);
    // Search and write permission: each job's spool is a directory created inside it.
    if (!ec && ::access(root.c_str(), W_OK | X_OK) != 0)
        ec = std::error_code(errno, std::generic_category());
    if (ec) throw usage_error("--spool-dir " + root + " cannot be used: " + ec.message());
    check_trusted_directory(root, "--spool-dir", /*sticky_ok=*/true);
}

marker_check check_job_marker(const std::string& dir, const std::string& job,
                              const std::string& slot, const spool_identity& identity) {
    const auto text = read_marker(dir);
    if (!text) return {marker_state::missing, ""};
    std::string line = text->substr(0, text->find('\n'));
    if (*text == marker_text(job, slot, identity)) return {marker_state::ours, line};
    if (*text == earlier_marker_text(job, slot)) return {marker_state::earlier_version, line};
    return {marker_state::foreign, line};
}

void create_job_spool(const std::string& dir, const std::string& job, const std::string& slot,
                      const spool_identity& identity) {
    const auto [parent, name] = split(dir);
    auto parent_fd = unique_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_fd)
        throw runtime_error("cannot create the spool directory " + dir + ": " + parent + ": " +
                            errno_text());
    if (::mkdirat(parent_fd.get(), name.c_str(), S_IRWXU) != 0) {
        if (errno == EEXIST)
            throw preflight_error("the spool directory " + dir +
                                  " is in the way: something else appeared at that path; move "
                                  "it away, or use another --spool-dir");
        throw runtime_error("cannot create the spool directory " + dir + ": " + errno_text());
    }
    auto dir_fd = open_dir(parent_fd.get(), name.c_str());
    struct stat st {};
    if (!dir_fd || ::fstat(dir_fd.get(), &st) != 0 || st.st_uid != ::geteuid())
        throw runtime_error("the spool directory " + dir +
                            " was replaced right after partshift created it; refusing to use it");
    // The mode given to mkdirat passed through the umask; the spool holds full row images.
    if (::fchmod(dir_fd.get(), S_IRWXU) != 0)
        throw runtime_error("cannot make the spool directory " + dir + " private: " + errno_text());
    write_file_at(dir_fd.get(), marker_name, marker_text(job, slot, identity), dir);
    ::fsync(dir_fd.get());
    ::fsync(parent_fd.get());
}

void replace_job_spool(const std::string& dir, const std::string& job, const std::string& slot,
                       const spool_identity& identity) {
    const auto check = check_job_marker(dir, job, slot, identity);
    if (check.state == marker_state::ours) {
        if (!remove_job_spool(dir, job, slot, identity))
            throw runtime_error("cannot remove the old spool of job " + job + " in " + dir);
    } else if (check.state == marker_state::missing) {
        // An empty directory (a creation cut short) goes; one with files is not ours to judge.
        std::error_code ec;
        if (fs::is_directory(fs::symlink_status(dir, ec)) && fs::is_empty(dir, ec))
            fs::remove(dir, ec);
    }
    std::error_code ec;
    if (check.state != marker_state::ours && fs::exists(fs::symlink_status(dir, ec)))
        throw preflight_error(
            "the spool directory " + dir + " is in the way: " +
            (check.state == marker_state::missing
                 ? std::string("it has no JOB marker of job ") + job
                 : "its JOB marker says '" + check.found + "', not job " + job + " (cluster " +
                       identity.system_identifier + ", database " + identity.database_oid + ")") +
            "; partshift never deletes what it cannot tell is this job's: move it away, or use "
            "another --spool-dir");
    create_job_spool(dir, job, slot, identity);
}

void adopt_job_spool(const std::string& dir, const std::string& job, const std::string& slot,
                     const spool_identity& identity) {
    auto dir_fd = open_dir(AT_FDCWD, dir.c_str());
    if (!dir_fd)
        throw runtime_error("cannot open the spool directory " + dir + ": " + errno_text());
    const std::string fresh = std::string(marker_name) + ".new";
    ::unlinkat(dir_fd.get(), fresh.c_str(), 0);
    write_file_at(dir_fd.get(), fresh.c_str(), marker_text(job, slot, identity), dir);
    if (::renameat(dir_fd.get(), fresh.c_str(), dir_fd.get(), marker_name) != 0)
        throw runtime_error("cannot update the JOB marker in " + dir + ": " + errno_text());
    ::fsync(dir_fd.get());
}

bool remove_job_spool(const std::string& dir, const std::string& job, const std::string& slot,
                      const spool_identity& identity) {
    if (dir.empty()) return false;
    const auto state = check_job_marker(dir, job, slot, identity).state;
    if (state != marker_state::ours && state != marker_state::earlier_version) return false;
    std::error_code ec;
    fs::remove_all(dir, ec);
    return !ec;
}

}  // namespace partshift::spool
