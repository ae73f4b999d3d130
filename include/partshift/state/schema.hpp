// The partshift schema: job state kept in the source database (DESIGN.md §3 state/), so any
// shell can read a job's status and a restarted run resumes from it. The copier's chunk
// records and the applier's applied LSN are written in the same target transactions as the
// data they describe (invariant 2).
#pragma once

namespace partshift::state {

// newest_column: the last column ensure_schema_sql adds; a schema without it is upgraded.
inline constexpr const char* newest_column = "catch_up_pace";

// ensure_schema_sql creates the schema and tables if missing; idempotent.
inline constexpr const char* ensure_schema_sql = R"SQL(
CREATE SCHEMA IF NOT EXISTS partshift;
CREATE TABLE IF NOT EXISTS partshift.jobs (
    job              text PRIMARY KEY,
    source_schema    text NOT NULL,
    source_table     text NOT NULL,
    target_schema    text NOT NULL,
    target_table     text NOT NULL,
    final_name       text NOT NULL,
    old_name         text NOT NULL,
    slot_name        text NOT NULL,
    publication_name text NOT NULL,
    spec             bytea NOT NULL,          -- partshift.proto.job_spec
    spool_dir        text NOT NULL DEFAULT '', -- absolute path of the job's spool on the runner's host
    phase            text NOT NULL,           -- prepared, copy, index, replay, follow, cutover, done, failed
    l0_lsn           pg_lsn,                  -- the slot's consistent point
    max_chunk_high_lsn pg_lsn,                -- end of the idempotent window
    applied_lsn      pg_lsn,                  -- last source commit end LSN applied (same txn as the changes)
    rows_estimate    bigint NOT NULL DEFAULT 0,
    rows_copied      bigint NOT NULL DEFAULT 0,
    source_lsn       pg_lsn,
    received_lsn     pg_lsn,
    lag_bytes        bigint,
    lag_seconds      double precision,
    apply_rate       double precision,
    cutover_requested boolean NOT NULL DEFAULT false,
    runner_pid       integer,                 -- backend pid of the running partshift's control session
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS partshift.chunks (
    job        text NOT NULL REFERENCES partshift.jobs (job) ON DELETE CASCADE,
    chunk_id   integer NOT NULL,
    lower_key  text[],                        -- inclusive, NULL = unbounded; one element per key column
    upper_key  text[],                        -- exclusive, NULL = unbounded
    done       boolean NOT NULL DEFAULT false,
    rows       bigint,
    high_lsn   pg_lsn,                        -- pg_current_wal_insert_lsn() inside the chunk's snapshot
    copied_at  timestamptz,
    PRIMARY KEY (job, chunk_id)
);
-- Keys the idempotent window left out of the target on purpose (apply/skipped_keys.hpp): strict
-- mode accepts a missing row for exactly these until a change removes them. Written in the
-- applier's batch transactions. key: the applier's length-prefixed text of the key values (a
-- source key fits a btree entry, so this one does too).
CREATE TABLE IF NOT EXISTS partshift.skipped_keys (
    job        text NOT NULL REFERENCES partshift.jobs (job) ON DELETE CASCADE,
    key        text NOT NULL,
    PRIMARY KEY (job, key)
);
-- The partitions of a partitioned source (re-partitioning, catalog/partition_tree.hpp) as
-- they were when the job was prepared; the job stops when the source's tree differs.
CREATE TABLE IF NOT EXISTS partshift.source_partitions (
    job        text NOT NULL REFERENCES partshift.jobs (job) ON DELETE CASCADE,
    relid      oid NOT NULL,
    member     text NOT NULL,                 -- catalog::member_text: name, parent, bound
    PRIMARY KEY (job, relid)
);
-- The fingerprint of the source's schema when the job was prepared (catalog/schema_print.hpp):
-- the job stops, or the swap carries the change over, when it differs. kind '!' records a
-- change that stopped the job for good (its columns changed), so undoing it hides nothing.
CREATE TABLE IF NOT EXISTS partshift.schema_prints (
    job        text NOT NULL REFERENCES partshift.jobs (job) ON DELETE CASCADE,
    kind       text NOT NULL,
    name       text NOT NULL,
    text       text NOT NULL,
    PRIMARY KEY (job, kind, name)
);
-- The positions of a job's apply lanes (--apply-workers above 1, apply/lane_routing.hpp), one row
-- per lane, each written in that lane's batch transactions (invariant 2): every change routed to
-- the lane of a source transaction committed at or before applied_lsn is on the target, and of
-- the transaction committed at partial_lsn (a barrier committed the lanes in its middle) the
-- changes numbered below partial_changes. The job's applied_lsn is the lowest of them.
CREATE TABLE IF NOT EXISTS partshift.apply_lanes (
    job             text NOT NULL REFERENCES partshift.jobs (job) ON DELETE CASCADE,
    lane            integer NOT NULL,
    applied_lsn     pg_lsn NOT NULL,
    partial_lsn     pg_lsn,
    partial_changes bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, lane)
);
-- Columns added after the first release: ADD COLUMN IF NOT EXISTS keeps older jobs working.
ALTER TABLE partshift.jobs
    ADD COLUMN IF NOT EXISTS swap_xid bigint,          -- the cutover transaction (for a later revert)
    ADD COLUMN IF NOT EXISTS swap_lsn pg_lsn,          -- WAL position inside the swap, before its commit
    ADD COLUMN IF NOT EXISTS cut_over_at timestamptz,
    ADD COLUMN IF NOT EXISTS cutover_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS lock_hold_ms double precision,  -- lock granted → commit
    ADD COLUMN IF NOT EXISTS cutover_state text,       -- 'waiting for cutover', 'cutting over', ...
    ADD COLUMN IF NOT EXISTS summary text,             -- the report printed after the cutover
    ADD COLUMN IF NOT EXISTS phase_started jsonb NOT NULL DEFAULT '{}',  -- phase → first start time
    ADD COLUMN IF NOT EXISTS after_swap_sql text[],    -- run after the swap's commit (FK validation)
    -- Live control (partshift pause/resume/set; run flags replace them): read by the run
    -- once a second, kept for the next run.
    ADD COLUMN IF NOT EXISTS copy_paused boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS max_copy_rate double precision,  -- rows/s ceiling; NULL = none
    ADD COLUMN IF NOT EXISTS max_lag_ms bigint,        -- the cutover gate's --max-lag in effect
    ADD COLUMN IF NOT EXISTS throttle_reason text,     -- why the copy waits now; NULL = it does not
    ADD COLUMN IF NOT EXISTS throttle_limits text,     -- the run's throttle flags, for status
    -- The revert window (state/revert_window.hpp). On the job: the window asked for, its end,
    -- and 'open' / 'reverted' / 'finished'. On the reverse job's row (NAME -> NAME_old): the
    -- job it reverses, and a `partshift finish` request.
    ADD COLUMN IF NOT EXISTS revert_window_ms bigint,
    ADD COLUMN IF NOT EXISTS revert_until timestamptz,
    ADD COLUMN IF NOT EXISTS reverse_of text,
    ADD COLUMN IF NOT EXISTS finish_requested boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS revert_state text,
    -- Written by the running job once a second: why the applier is not keeping up; NULL = it is.
    ADD COLUMN IF NOT EXISTS apply_behind text,
    -- Live control: parallel chunk copies (partshift set --copy-workers); NULL = the run's own.
    ADD COLUMN IF NOT EXISTS copy_workers integer,
    -- Multi-table jobs (run --spec): every table of the job has a row; group_job is the job's
    -- name on all of them (the first table's row is the job itself and owns the slot,
    -- publication, spool, applied LSN and controls), group_position the table's place in
    -- the job file. NULL on a job of one table.
    ADD COLUMN IF NOT EXISTS group_job text,
    ADD COLUMN IF NOT EXISTS group_position integer,
    -- Written by the running job once a second: rows of running chunks, rates and time left
    -- (copy, index build, catch-up), as monitor/job_monitor computed them; NULL = not running.
    ADD COLUMN IF NOT EXISTS live jsonb,
    -- When partshift.schema_prints was filled for the job; NULL: by no run yet (a job of an
    -- earlier partshift: its run records it on resume).
    ADD COLUMN IF NOT EXISTS schema_printed_at timestamptz,
    -- Cutover requests belong to one run (state/cutover_request.hpp): the run that registered
    -- last (its id, who holds it, dry run or not), the run a request was made to, and whether
    -- that run has taken it (then it can no longer be withdrawn).
    ADD COLUMN IF NOT EXISTS run_id text,
    ADD COLUMN IF NOT EXISTS run_holder text,
    ADD COLUMN IF NOT EXISTS run_dry_run boolean,
    ADD COLUMN IF NOT EXISTS cutover_request_run text,
    ADD COLUMN IF NOT EXISTS cutover_request_taken boolean NOT NULL DEFAULT false,
    -- Where each setting in effect came from (state/setting_sources.hpp), by setting:
    -- {"max_copy_rate": {"source": "set", "at": "2026-12-06T12:03:04Z"}, ...}.
    ADD COLUMN IF NOT EXISTS control_sources jsonb NOT NULL DEFAULT '{}',
    -- Whether the job's stream skips partshift's own writes by replication origin
    -- (stream/origin_filter.hpp): 'on', or 'off: <why>'; chosen when the slot is made, and
    -- never turned on later. NULL: a job of an earlier partshift (unfiltered).
    ADD COLUMN IF NOT EXISTS origin_filter text,
    -- The apply lanes the job runs with (run --apply-workers; a resume keeps it); NULL = 1.
    ADD COLUMN IF NOT EXISTS apply_workers integer,
    -- The catch-up pace in percent (run --catch-up-pace, partshift set; a resume keeps it);
    -- NULL = 100, full speed.
    ADD COLUMN IF NOT EXISTS catch_up_pace integer;
)SQL";

}  // namespace partshift::state
