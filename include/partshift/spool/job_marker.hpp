// job_marker: the JOB file in a job's spool directory, naming the job, its slot, and the
// cluster and database it belongs to. The slot acknowledges what the spool holds, so a run
// must never use a missing or foreign spool, and nothing may delete a directory as a job's
// spool unless the marker says it is this job's (on this cluster, in this database: one spool
// root may serve a fleet of servers whose jobs and databases share names).
// Must not: decide where a spool goes (state::spool_dir_name does), or talk to the server.
#pragma once

#include <string>

namespace partshift::spool {

// spool_identity: the cluster's system identifier (pg_control_system()) and the database's
// OID, as decimal text.
struct spool_identity {
    std::string system_identifier;
    std::string database_oid;
    bool operator==(const spool_identity&) const = default;
};

// check_spool_root creates the directory that holds the jobs' spools (--spool-dir) if it is
// missing and checks that partshift may create entries in it (usage_error, exit 2) and that
// nobody but the running user or root can change it or a directory above it
// (preflight_error, exit 3: trusted_path). Called before a new job creates anything on the
// server, so an unusable path fails with its cause and nothing to clean up.
void check_spool_root(const std::string& root);

// marker_state: what a directory's marker says about it for a given job.
enum class marker_state {
    ours,             // this job, slot, cluster and database
    earlier_version,  // this job and slot, written by a partshift before spool identities
    missing,          // no directory, or no marker in it
    foreign,          // another job's, or this job name's on another cluster or database
};

struct marker_check {
    marker_state state = marker_state::missing;
    std::string found;  // the marker's text, one line, for messages ("" when missing)
};

// check_job_marker reads the directory's marker (never through a symlink).
marker_check check_job_marker(const std::string& dir, const std::string& job,
                              const std::string& slot, const spool_identity& identity);

// create_job_spool makes `dir` (0700: the spool holds full row images) inside its existing
// parent and writes the marker, relative to the opened parent and the new directory (mkdirat,
// O_NOFOLLOW, fchmod), so nothing swapped in at that path can redirect it. Throws
// preflight_error when the path already exists, runtime_error when it cannot be made.
void create_job_spool(const std::string& dir, const std::string& job, const std::string& slot,
                      const spool_identity& identity);

// replace_job_spool: a new job's empty spool. A leftover of this same job (its marker matches,
// an empty directory) is removed first; anything else at the path (another job's or cluster's
// spool, files without a marker) is left alone and refused with preflight_error (exit 3).
void replace_job_spool(const std::string& dir, const std::string& job, const std::string& slot,
                       const spool_identity& identity);

// adopt_job_spool rewrites an earlier version's marker (this job and slot, no identity) with
// this identity, atomically (a new file renamed over the old one).
void adopt_job_spool(const std::string& dir, const std::string& job, const std::string& slot,
                     const spool_identity& identity);

// remove_job_spool deletes the directory only when its marker names this job (ours, or an
// earlier version's for this job and slot); returns false (and deletes nothing) otherwise.
bool remove_job_spool(const std::string& dir, const std::string& job, const std::string& slot,
                      const spool_identity& identity);

}  // namespace partshift::spool
