// Test support for integration tests: a fresh database per test on the sandbox server that
// scripts/pg-sandbox.sh started, running the partshift binary as a real child process, and
// content checksums for comparing tables.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "partshift/pg/connection.hpp"
#include "support/test_paths.hpp"

namespace partshift::testing {

// True when PGHOST points at a sandbox; integration tests GTEST_SKIP() otherwise.
bool sandbox_available();

// conninfo for a database on the sandbox server.
std::string sandbox_dsn(const std::string& dbname);

// app_connection: a connection as the application has it, on the role's and database's default
// search_path. partshift's own sessions pin theirs to pg_catalog, pg_temp (pg/session_defaults);
// the tests play the application and name their tables without a schema.
pg::connection app_connection(const std::string& dsn,
                              const std::string& application_name = "partshift-test");

// test_database: CREATE DATABASE on construction (name derived from the running test),
// DROP ... WITH (FORCE) in the destructor, after dropping any slot left in it.
class test_database {
  public:
    test_database();
    explicit test_database(const std::string& name);
    ~test_database();
    test_database(const test_database&) = delete;
    test_database& operator=(const test_database&) = delete;

    const std::string& name() const { return name_; }
    const std::string& dsn() const { return dsn_; }
    pg::connection connect() const { return app_connection(dsn_); }
    // exec runs SQL (several statements allowed) on a short-lived connection.
    void exec(const std::string& sql) const;

  private:
    std::string name_;
    std::string dsn_;
};

struct command_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

// run_command runs argv[0] with argv, optionally feeding stdin, and waits for it.
command_result run_command(const std::vector<std::string>& argv, const std::string& input = "",
                           std::chrono::seconds timeout = std::chrono::seconds(600));

// run_partshift runs the built binary with the given arguments.
command_result run_partshift(const std::vector<std::string>& args,
                             std::chrono::seconds timeout = std::chrono::seconds(600));

// run_psql feeds a script to psql -v ON_ERROR_STOP=1 on the given database.
command_result run_psql(const std::string& dsn, const std::string& script);

// child_process: a background process (partshift run, pgbench) that can be really killed.
class child_process {
  public:
    child_process(const std::vector<std::string>& argv, const std::string& log_path);
    ~child_process();  // kills with SIGKILL if still running
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    void signal(int sig);
    // wait returns the exit code (128+signal if killed); nullopt on timeout.
    std::optional<int> wait(std::chrono::seconds timeout);
    std::string log() const;

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_path_;
};

// Restart the sandbox server (mode "fast" or "immediate"), for fault tests.
void restart_sandbox(const std::string& mode = "fast");

// schema_dump: `pg_dump -s` of the tables matching the -t patterns in db, without the random
// \restrict key newer pg_dump brackets its output with; "" (and a test failure) on an error.
std::string schema_dump(const test_database& db, const std::vector<std::string>& patterns);

// one_line: the text is exactly one line ending in a newline (how errors reach stderr).
bool one_line(const std::string& text);

// extra_server: a second throwaway PostgreSQL with settings of its own (e.g. wal_level =
// replica), for tests that need a server the shared sandbox must not become. Started by
// scripts/pg-sandbox.sh in a temp dir, removed at destruction.
class extra_server {
  public:
    explicit extra_server(const std::vector<std::string>& settings);
    ~extra_server();
    extra_server(const extra_server&) = delete;
    extra_server& operator=(const extra_server&) = delete;
    std::string dsn(const std::string& dbname = "postgres") const;

  private:
    std::string dir_;
};

// table_fingerprint: row count and a checksum over every column of every row, independent of
// row order and physical layout; equal fingerprints mean equal content.
struct table_fingerprint {
    int64_t rows = 0;
    std::string checksum;
    bool operator==(const table_fingerprint&) const = default;
};
// columns: a column list to compare ("*" when empty); relation is a quoted SQL name.
table_fingerprint fingerprint(pg::connection& conn, const std::string& relation,
                              const std::string& columns = "");

// A temp directory removed at destruction.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace partshift::testing
