// job_driver: shared steps of the integration tests that drive a job through the binary.
#include "support/job_driver.hpp"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

namespace partshift::testing {

bool load_events_table(const test_database& db, int rows) {
    return load_events_table(db.dsn(), rows);
}

bool load_events_table(const std::string& dsn, int rows) {
    const std::string workload = std::string(PARTSHIFT_SOURCE_DIR) + "/tests/workload";
    auto schema = run_command({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f",
                               workload + "/events_schema.sql"});
    if (schema.exit_code != 0) {
        ADD_FAILURE() << "events_schema.sql: " << schema.err;
        return false;
    }
    auto load = run_command({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v",
                             "rows=" + std::to_string(rows), "-d", dsn, "-f",
                             workload + "/events_load.sql"});
    if (load.exit_code != 0) {
        ADD_FAILURE() << "events_load.sql: " << load.err;
        return false;
    }
    return true;
}

const proto::job_setting* find_setting(const proto::status_report& s, const std::string& name) {
    for (const auto& setting : s.settings())
        if (setting.name() == name) return &setting;
    return nullptr;
}

std::string relkind(const test_database& db, const std::string& name) {
    auto conn = db.connect();
    return conn
        .query(
            "SELECT coalesce((SELECT relkind::text FROM pg_class WHERE oid = "
            "to_regclass($1)), '-')",
            name)
        .get(0, 0);
}

std::optional<proto::status_report> job_status(const std::string& dsn, const std::string& job) {
    auto r = run_partshift({"status", "--dsn", dsn, "--job", job, "--json"});
    if (r.exit_code != 0) return std::nullopt;
    proto::status_report report;
    if (!google::protobuf::util::JsonStringToMessage(r.out, &report).ok()) return std::nullopt;
    return report;
}

proto::status_report wait_for_status(const std::string& dsn, const std::string& job,
                                     const std::function<bool(const proto::status_report&)>& pred,
                                     std::chrono::seconds timeout, child_process* run,
                                     const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto s = job_status(dsn, job); s && pred(*s)) return *s;
        if (run && !run->running()) {
            ADD_FAILURE() << "partshift exited while waiting for " << what << "\n" << run->log();
            return {};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "timed out waiting for " << what << "\n" << (run ? run->log() : "");
    return {};
}

std::unique_ptr<child_process> start_with_env(const std::vector<std::string>& env,
                                              const std::vector<std::string>& argv,
                                              const std::string& log_path) {
    std::vector<std::string> full{"env"};
    full.insert(full.end(), env.begin(), env.end());
    full.insert(full.end(), argv.begin(), argv.end());
    return std::make_unique<child_process>(full, log_path);
}

proto::status_report wait_caught_up(const std::string& dsn, const std::string& job,
                                    child_process* run) {
    proto::status_report s;
    for (int i = 0; i < 2; ++i) {
        s = wait_for_status(
            dsn, job, [](const auto& r) { return r.phase() == "follow" && r.lag_bytes() == 0; },
            std::chrono::seconds(300), run, "lag 0 in follow");
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
    return s;
}

void stop_run(child_process& run) {
    run.signal(SIGTERM);
    auto code = run.wait(std::chrono::seconds(120));
    ASSERT_TRUE(code.has_value()) << run.log();
    EXPECT_EQ(*code, 0) << run.log();
}

}  // namespace partshift::testing
