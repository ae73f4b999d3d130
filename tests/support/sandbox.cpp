// Test support: sandbox databases, child processes, fingerprints.
#include "support/sandbox.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "partshift/error.hpp"
#include "partshift/pg/quote.hpp"

namespace partshift::testing {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string database_name_for_current_test() {
    std::string name = "t";
    if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
        name += "_" + std::string(info->test_suite_name()) + "_" + info->name();
    }
    name += "_" + std::to_string(getpid());
    std::string clean;
    for (char c : name)
        clean += std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_';
    if (clean.size() > 60) clean = clean.substr(clean.size() - 60);
    return clean;
}

int exit_code_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// with_test_apply_workers: argv with --apply-workers N after a `partshift run` that does not
// give it, when PARTSHIFT_TEST_APPLY_WORKERS says N (through env(1) too). CMakeLists.txt runs
// the apply, engine and cutover tests once more with 4 (the apply tests' fixtures read it too).
std::vector<std::string> with_test_apply_workers(std::vector<std::string> argv) {
    const char* workers = std::getenv("PARTSHIFT_TEST_APPLY_WORKERS");
    if (!workers || !*workers) return argv;
    for (const auto& a : argv)
        if (a.rfind("--apply-workers", 0) == 0) return argv;
    for (size_t i = 0; i + 1 < argv.size(); ++i)
        if (argv[i] == PARTSHIFT_BINARY && argv[i + 1] == "run") {
            argv.insert(argv.begin() + static_cast<std::ptrdiff_t>(i) + 2,
                        {"--apply-workers", std::string(workers)});
            break;
        }
    return argv;
}

pid_t spawn(const std::vector<std::string>& given, int in_fd, int out_fd, int err_fd) {
    // Built before the fork: the child only execs.
    const std::vector<std::string> argv = with_test_apply_workers(given);
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        if (in_fd >= 0) dup2(in_fd, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        // Own process group so a kill reaches only this child and its children.
        setpgid(0, 0);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    return pid;
}

}  // namespace

bool sandbox_available() {
    return std::getenv("PGHOST") != nullptr;
}

std::string sandbox_dsn(const std::string& dbname) {
    return "host=" + env_or("PGHOST", "/tmp") + " port=" + env_or("PGPORT", "5432") +
           " user=" + env_or("PGUSER", "postgres") + " dbname=" + dbname;
}

pg::connection app_connection(const std::string& dsn, const std::string& application_name) {
    pg::connection conn(dsn, application_name);
    conn.exec("RESET search_path");
    return conn;
}

test_database::test_database() : test_database(database_name_for_current_test()) {}

test_database::test_database(const std::string& name) : name_(name), dsn_(sandbox_dsn(name)) {
    pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
    admin.exec("DROP DATABASE IF EXISTS " + pg::escape_identifier(name_) + " WITH (FORCE)");
    admin.exec("CREATE DATABASE " + pg::escape_identifier(name_));
}

test_database::~test_database() {
    try {
        pg::connection admin(sandbox_dsn("postgres"), "partshift-test");
        // Terminate walsenders first: a slot in use cannot be dropped.
        admin.query(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
            "WHERE database = $1 AND active_pid IS NOT NULL",
            name_);
        for (int attempt = 0; attempt < 50; ++attempt) {
            auto r = admin.query(
                "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots "
                "WHERE database = $1 AND NOT active",
                name_);
            auto left =
                admin.query("SELECT count(*) FROM pg_replication_slots WHERE database = $1", name_);
            if (left.get_int(0, 0) == 0) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        admin.exec("DROP DATABASE IF EXISTS " + pg::escape_identifier(name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "warning: could not drop test database %s: %s\n", name_.c_str(),
                     e.what());
    }
}

void test_database::exec(const std::string& sql) const {
    auto conn = connect();
    conn.exec(sql);
}

command_result run_command(const std::vector<std::string>& argv, const std::string& input,
                           std::chrono::seconds timeout) {
    temp_dir tmp;
    std::string in_path = tmp.path() + "/in", out_path = tmp.path() + "/out",
                err_path = tmp.path() + "/err";
    {
        std::ofstream in(in_path, std::ios::binary);
        in << input;
    }
    int in_fd = open(in_path.c_str(), O_RDONLY);
    int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = spawn(argv, in_fd, out_fd, err_fd);
    close(in_fd);
    close(out_fd);
    close(err_fd);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (true) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid) break;
        if (std::chrono::steady_clock::now() > deadline) {
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return {exit_code_of(status), slurp(out_path), slurp(err_path)};
}

command_result run_partshift(const std::vector<std::string>& args, std::chrono::seconds timeout) {
    std::vector<std::string> argv{PARTSHIFT_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, "", timeout);
}

command_result run_psql(const std::string& dsn, const std::string& script) {
    return run_command({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn}, script);
}

child_process::child_process(const std::vector<std::string>& argv, const std::string& log_path)
    : log_path_(log_path) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null_fd = open("/dev/null", O_RDONLY);
    pid_ = spawn(argv, null_fd, fd, fd);
    close(fd);
    close(null_fd);
}

child_process::~child_process() {
    if (running()) {
        kill(-pid_, SIGKILL);
        int status = 0;
        waitpid(pid_, &status, 0);
    }
}

bool child_process::running() {
    if (status_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
        status_ = exit_code_of(status);
        return false;
    }
    return true;
}

void child_process::signal(int sig) {
    if (running()) kill(sig == SIGKILL ? -pid_ : pid_, sig);
}

std::optional<int> child_process::wait(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status_;
}

std::string child_process::log() const {
    return slurp(log_path_);
}

void restart_sandbox(const std::string& mode) {
    auto script = env_or("PARTSHIFT_SANDBOX_SCRIPT", "");
    auto dir = env_or("PARTSHIFT_SANDBOX_DIR", "");
    if (script.empty() || dir.empty()) throw std::runtime_error("no sandbox to restart");
    auto r = run_command({script, "restart", dir, mode});
    if (r.exit_code != 0) throw std::runtime_error("sandbox restart failed: " + r.err);
}

std::string schema_dump(const test_database& db, const std::vector<std::string>& patterns) {
    std::vector<std::string> argv{"pg_dump", "-s"};
    for (const auto& p : patterns) argv.insert(argv.end(), {"-t", p});
    argv.push_back(db.name());
    auto r = run_command(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("\\restrict", 0) != 0 && line.rfind("\\unrestrict", 0) != 0)
            out += line + "\n";
    return out;
}

bool one_line(const std::string& text) {
    return !text.empty() && text.find('\n') == text.size() - 1;
}

extra_server::extra_server(const std::vector<std::string>& settings) {
    auto script = env_or("PARTSHIFT_SANDBOX_SCRIPT", "");
    if (script.empty()) throw std::runtime_error("no sandbox script to start a server with");
    char pattern[] = "/tmp/partshift-pg2.XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    std::vector<std::string> argv{"env"};
    std::string conf;
    for (const auto& s : settings) conf += s + "\n";
    argv.push_back("PARTSHIFT_SANDBOX_EXTRA_CONF=" + conf);
    argv.insert(argv.end(), {script, "start", dir_});
    auto r = run_command(argv);
    if (r.exit_code != 0) {
        run_command({script, "remove", dir_});
        throw std::runtime_error("could not start a second server: " + r.err);
    }
}

extra_server::~extra_server() {
    run_command({env_or("PARTSHIFT_SANDBOX_SCRIPT", "false"), "remove", dir_});
}

std::string extra_server::dsn(const std::string& dbname) const {
    return "host=" + dir_ + " port=5432 user=postgres dbname=" + dbname;
}

table_fingerprint fingerprint(pg::connection& conn, const std::string& relation,
                              const std::string& columns) {
    // md5 of each row's text form, then md5 over the sorted row digests: order-independent,
    // covers every column, and bounded memory on the client.
    std::string row = columns.empty() ? "t.*" : columns;
    auto r = conn.exec(
        "SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM "
        "(SELECT md5(ROW(" +
        row + ")::text) AS h FROM " + relation + " t) s");
    return {r.get_int(0, 0), r.get(0, 1)};
}

temp_dir::temp_dir() {
    char pattern[] = "/tmp/partshift-test.XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace partshift::testing
