// Unit tests for a job's spool directory (spool/job_marker, spool/trusted_path; temp
// directories, no server): the marker names job, slot, cluster and database and is checked
// against all four; nothing that is not this job's is ever removed or written through; a
// directory others can change is refused.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "partshift/error.hpp"
#include "partshift/spool/job_marker.hpp"
#include "partshift/spool/trusted_path.hpp"
#include "partshift/state/job_names.hpp"

using namespace partshift::spool;
namespace fs = std::filesystem;

namespace {

const spool_identity cluster_a{"7312345678901234567", "16384"};
const spool_identity cluster_b{"7399999999999999999", "16384"};  // same database OID, elsewhere

class JobSpool : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "partshift-marker-XXXXXX").string();
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        root_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        fs::permissions(root_, fs::perms::owner_all, ec);
        fs::remove_all(root_, ec);
    }
    std::string dir(const spool_identity& id, const std::string& job = "events") const {
        return root_ + "/" +
               partshift::state::spool_dir_name(id.system_identifier, id.database_oid, job);
    }
    static std::string read(const std::string& path) {
        std::ifstream in(path);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    std::string root_;
};

}  // namespace

TEST_F(JobSpool, TheMarkerNamesJobSlotClusterAndDatabase) {
    const auto d = dir(cluster_a);
    create_job_spool(d, "events", "slot_a", cluster_a);
    EXPECT_EQ(read(d + "/JOB"),
              "partshift job events slot slot_a cluster 7312345678901234567 database 16384\n");
    EXPECT_EQ(fs::status(d).permissions() & fs::perms::all, fs::perms::owner_all);
    EXPECT_EQ(check_job_marker(d, "events", "slot_a", cluster_a).state, marker_state::ours);
    // The same job and slot names on another cluster, or in another database, or another job:
    // not this spool.
    EXPECT_EQ(check_job_marker(d, "events", "slot_a", cluster_b).state, marker_state::foreign);
    EXPECT_EQ(check_job_marker(d, "events", "slot_a", {"7312345678901234567", "16385"}).state,
              marker_state::foreign);
    EXPECT_EQ(check_job_marker(d, "orders", "slot_a", cluster_a).state, marker_state::foreign);
    EXPECT_EQ(check_job_marker(root_ + "/none", "events", "slot_a", cluster_a).state,
              marker_state::missing);
}

// The two-servers case: same job name, same database name (so the same slot name), one spool
// root. Their directories differ, and neither may remove the other's, whatever path it is
// given.
TEST_F(JobSpool, AnotherClustersSpoolIsNeverRemovedOrReplaced) {
    const auto a = dir(cluster_a);
    EXPECT_NE(a, dir(cluster_b));
    create_job_spool(a, "events", "slot_x", cluster_a);
    std::ofstream(a + "/0000000001.seg") << "unapplied changes";
    EXPECT_FALSE(remove_job_spool(a, "events", "slot_x", cluster_b));
    try {
        replace_job_spool(a, "events", "slot_x", cluster_b);
        ADD_FAILURE() << "replaced another cluster's spool";
    } catch (const partshift::preflight_error& e) {
        EXPECT_NE(std::string(e.what()).find(a), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("cluster 7312345678901234567"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(read(a + "/0000000001.seg"), "unapplied changes");
    EXPECT_EQ(check_job_marker(a, "events", "slot_x", cluster_a).state, marker_state::ours);
    // Its own job replaces its own leftover.
    replace_job_spool(a, "events", "slot_x", cluster_a);
    EXPECT_FALSE(fs::exists(a + "/0000000001.seg"));
    EXPECT_EQ(check_job_marker(a, "events", "slot_x", cluster_a).state, marker_state::ours);
}

TEST_F(JobSpool, FilesWithoutAMarkerAreInTheWayNotRemoved) {
    const auto d = dir(cluster_a);
    fs::create_directories(d);
    std::ofstream(d + "/notes.txt") << "mine";
    EXPECT_THROW(replace_job_spool(d, "events", "s", cluster_a), partshift::preflight_error);
    EXPECT_EQ(read(d + "/notes.txt"), "mine");
    EXPECT_FALSE(remove_job_spool(d, "events", "s", cluster_a));
    // An empty directory without a marker (a creation cut short) is taken over.
    fs::remove(d + "/notes.txt");
    replace_job_spool(d, "events", "s", cluster_a);
    EXPECT_EQ(check_job_marker(d, "events", "s", cluster_a).state, marker_state::ours);
}

// A symlink at the spool's path (planted between a removal and the creation) must redirect
// neither the mkdir, the chmod nor the marker's write.
TEST_F(JobSpool, ASymlinkAtThePathIsNeitherFollowedNorRemoved) {
    const auto elsewhere = root_ + "/elsewhere";
    fs::create_directories(elsewhere);
    fs::permissions(elsewhere, fs::perms::all);
    const auto d = dir(cluster_a);
    fs::create_directory_symlink(elsewhere, d);
    EXPECT_THROW(replace_job_spool(d, "events", "s", cluster_a), partshift::preflight_error);
    EXPECT_THROW(create_job_spool(d, "events", "s", cluster_a), partshift::preflight_error);
    EXPECT_TRUE(fs::is_symlink(d));
    EXPECT_FALSE(fs::exists(elsewhere + "/JOB"));
    EXPECT_EQ(fs::status(elsewhere).permissions() & fs::perms::all, fs::perms::all);
    // A marker reached through the symlink is no marker.
    std::ofstream(elsewhere + "/JOB")
        << "partshift job events slot s cluster 7312345678901234567 database 16384\n";
    EXPECT_EQ(check_job_marker(d, "events", "s", cluster_a).state, marker_state::missing);
    EXPECT_FALSE(remove_job_spool(d, "events", "s", cluster_a));
    EXPECT_TRUE(fs::exists(elsewhere + "/JOB"));
}

// A spool made by a partshift from before spool identities: still this job's (resume finds it
// by the path its row keeps), and its marker can be brought up to date.
TEST_F(JobSpool, AnEarlierVersionsSpoolIsRecognisedAndAdopted) {
    const auto d = root_ + "/partshift_events_1a2b3c4d";
    fs::create_directories(d);
    std::ofstream(d + "/JOB") << "partshift job events slot partshift_events_1a2b3c4d\n";
    EXPECT_EQ(check_job_marker(d, "events", "partshift_events_1a2b3c4d", cluster_a).state,
              marker_state::earlier_version);
    EXPECT_EQ(check_job_marker(d, "orders", "partshift_events_1a2b3c4d", cluster_a).state,
              marker_state::foreign);
    adopt_job_spool(d, "events", "partshift_events_1a2b3c4d", cluster_a);
    EXPECT_EQ(check_job_marker(d, "events", "partshift_events_1a2b3c4d", cluster_a).state,
              marker_state::ours);
    EXPECT_EQ(check_job_marker(d, "events", "partshift_events_1a2b3c4d", cluster_b).state,
              marker_state::foreign);
    EXPECT_FALSE(fs::exists(d + "/JOB.new"));
}

TEST(TrustedPath, ModeAndOwnerRules) {
    const uid_t me = 1000;
    EXPECT_FALSE(untrusted_reason(040700, me, me, false));
    EXPECT_FALSE(untrusted_reason(040755, 0, me, false));  // root's
    EXPECT_EQ(*untrusted_reason(040777, me, me, true),
              "is writable by others (mode 0777) and has no sticky bit");
    EXPECT_EQ(*untrusted_reason(040775, me, me, false), "is writable by its group (mode 0775)");
    EXPECT_FALSE(untrusted_reason(041777, 0, me, true));  // /tmp, above the path
    EXPECT_TRUE(untrusted_reason(041777, 0, me, false));  // /tmp as the hooks directory
    EXPECT_EQ(*untrusted_reason(040700, 1001, me, false),
              "is owned by uid 1001, not by uid 1000 (you) or root");
}

TEST_F(JobSpool, ADirectoryOthersCanWriteIsRefusedWhereverItIsOnThePath) {
    const auto shared = root_ + "/shared";
    const auto spool = shared + "/spool";
    fs::create_directories(spool);
    fs::permissions(spool, fs::perms::owner_all);
    check_trusted_directory(spool, "--spool-dir", true);
    ::chmod(shared.c_str(), 0777);  // a parent, without the sticky bit
    try {
        check_trusted_directory(spool, "--spool-dir", true);
        ADD_FAILURE() << "a world-writable parent was accepted";
    } catch (const partshift::preflight_error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("--spool-dir " + spool), std::string::npos) << m;
        EXPECT_NE(m.find(shared + " is writable by others (mode 0777)"), std::string::npos) << m;
        EXPECT_NE(m.find("chmod go-w " + shared), std::string::npos) << m;
    }
    ::chmod(shared.c_str(), 01777);  // sticky: others cannot move `spool` away
    check_trusted_directory(spool, "--spool-dir", true);
    // Through a symlink: the place it leads to is checked too.
    const auto link = root_ + "/link";
    fs::create_directory_symlink(spool, link);
    ::chmod(spool.c_str(), 0777);
    EXPECT_THROW(check_trusted_directory(link, "--spool-dir", true), partshift::preflight_error);
    ::chmod(spool.c_str(), 01777);
    check_trusted_directory(link, "--spool-dir", true);
    // A hooks directory: sticky or not, nobody else may add files to it.
    EXPECT_THROW(check_trusted_directory(spool, "--hooks-dir", false), partshift::preflight_error);
}

TEST_F(JobSpool, ADirectoryOwnedBySomeoneElseIsRefused) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
    const auto theirs = root_ + "/theirs";
    fs::create_directories(theirs + "/spool");
    ASSERT_EQ(::chown(theirs.c_str(), 4242, 4242), 0);
    try {
        check_trusted_directory(theirs + "/spool", "--spool-dir", true);
        ADD_FAILURE() << "a directory of uid 4242 was accepted";
    } catch (const partshift::preflight_error& e) {
        EXPECT_NE(std::string(e.what()).find(theirs + " is owned by uid 4242"), std::string::npos)
            << e.what();
    }
}
