// job_marker: write, check and guarded removal of a job's spool directory.
#include "partshift/spool/job_marker.hpp"

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "partshift/error.hpp"

namespace partshift::spool {
namespace {

namespace fs = std::filesystem;

fs::path marker_path(const std::string& dir) { return fs::path(dir) / "JOB"; }

std::string marker_text(const std::string& job, const std::string& slot) {
    return "partshift job " + job + " slot " + slot + "\n";
}

}  // namespace

void check_spool_root(const std::string& root) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (!ec && !fs::is_directory(root, ec) && !ec)
        ec = std::make_error_code(std::errc::not_a_directory);
    // Search and write permission: each job's spool is a directory created inside it.
    if (!ec && ::access(root.c_str(), W_OK | X_OK) != 0)
        ec = std::error_code(errno, std::generic_category());
    if (ec) throw usage_error("--spool-dir " + root + " cannot be used: " + ec.message());
}

void write_job_marker(const std::string& dir, const std::string& job, const std::string& slot) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw runtime_error("cannot create the spool directory " + dir + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    std::ofstream out(marker_path(dir), std::ios::trunc);
    out << marker_text(job, slot);
    out.close();
    if (!out) throw runtime_error("cannot write to the spool directory " + dir);
}

bool has_job_marker(const std::string& dir, const std::string& job, const std::string& slot) {
    std::ifstream in(marker_path(dir));
    std::stringstream text;
    text << in.rdbuf();
    return in && text.str() == marker_text(job, slot);
}

bool remove_job_spool(const std::string& dir, const std::string& job, const std::string& slot) {
    if (dir.empty() || !has_job_marker(dir, job, slot)) return false;
    std::error_code ec;
    fs::remove_all(dir, ec);
    return !ec;
}

}  // namespace partshift::spool
