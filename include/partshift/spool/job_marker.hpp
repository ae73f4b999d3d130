// job_marker: the JOB file in a job's spool directory, naming the job and its slot. The slot
// acknowledges what the spool holds, so a run must never use a missing or foreign spool, and
// nothing may delete a directory as a job's spool unless the marker says it is one.
#pragma once

#include <string>

namespace partshift::spool {

// check_spool_root creates the directory that holds the jobs' spools (--spool-dir) if it is
// missing and checks that partshift may create entries in it. Called before a new job creates
// anything on the server, so an unusable path fails with its cause and nothing to clean up.
// Throws usage_error naming the path and the cause.
void check_spool_root(const std::string& root);

// write_job_marker creates the directory (0700: the spool holds full row images) and the
// marker; throws runtime_error when it cannot.
void write_job_marker(const std::string& dir, const std::string& job, const std::string& slot);

// has_job_marker: the directory holds this job's marker.
bool has_job_marker(const std::string& dir, const std::string& job, const std::string& slot);

// remove_job_spool deletes the directory only when its marker names this job; returns false
// (and deletes nothing) otherwise.
bool remove_job_spool(const std::string& dir, const std::string& job, const std::string& slot);

}  // namespace partshift::spool
