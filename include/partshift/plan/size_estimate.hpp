// size_estimate: what `plan` says the migration will cost in disk and WAL, and whether the
// partition count will hurt query planning. Pure arithmetic on storage_facts (the source's
// sizes and the server's WAL settings, read by read_storage_facts) and the target plan: no
// I/O here. Estimates, and said to be: the target is written densely, so the source's bloat
// is not copied; the WAL figure counts what the copy and the index builds write, not the
// workload's own writes during the job.
// Must not: read the catalog (storage_facts.cpp does) or render text beyond its own lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "partshift/plan/target_plan.hpp"

namespace partshift::plan {

// storage_facts: the source's sizes (summed over its leaf partitions when it is partitioned)
// and the settings that decide how much WAL the copy writes.
struct storage_facts {
    int64_t table_bytes = 0;    // pg_table_size: heap, TOAST, free space and visibility maps
    int64_t heap_bytes = 0;     // pg_relation_size: the heap's main fork alone
    int64_t indexes_bytes = 0;  // pg_indexes_size
    struct index_size {
        std::string name;  // the source index
        int64_t bytes = 0;
    };
    std::vector<index_size> indexes;
    std::string wal_level = "logical";
    bool full_page_writes = true;
    bool hint_bits_logged = false;  // data_checksums or wal_log_hints: hint bits write WAL
    int block_size = 8192;
};

// planned_index_size: one planned index's estimate.
struct planned_index_size {
    std::string name;
    int64_t bytes = 0;
};

// size_estimate: the estimate and its basis.
struct size_estimate {
    int64_t table_bytes = 0;  // the target's heap and TOAST
    std::vector<planned_index_size> indexes;
    int64_t indexes_bytes = 0;
    int64_t total_bytes = 0;     // table and indexes
    int64_t wal_bytes = 0;       // WAL the copy and the index builds write
    int64_t wal_bytes_high = 0;  // with a full-page image of every heap page (hint bits)
    std::string basis;           // one sentence: where the figures come from
    // lines: the estimate as `plan` prints it, humanized, with its basis and what SQL cannot
    // tell (the free space on the disk); estimate_lines's.
    std::vector<std::string> lines;
};

// wal_record_overhead: WAL per byte of heap the copy writes. COPY inserts rows with
// multi-insert records onto fresh pages (no full-page images: the page is initialised by the
// record); their headers and per-row fields add about a tenth.
inline constexpr double wal_record_overhead = 1.1;

// estimate_sizes: the target as planned, from the source's sizes, with its lines. Each planned
// index takes its source index's size (an index widened with the partition key is a little larger)
// plus one page per leaf partition (every partition's index has at least its metapage); the heap
// takes the source's table size.
size_estimate estimate_sizes(const target_plan& plan, const storage_facts& facts);

// estimate_lines: the estimate's lines (without the "-- ESTIMATE: " the script adds).
std::vector<std::string> estimate_lines(const size_estimate& e, const storage_facts& facts);

// many_partitions: more partitions than this get a warning. PostgreSQL's documentation,
// "Best Practices for Declarative Partitioning" (ddl-partitioning.html, 5.12.6 in PG 15):
// "The query planner is generally able to handle partition hierarchies with up to a few
// thousand partitions fairly well, provided that typical queries allow the query planner to
// prune all but a small number of partitions. Planning times become longer and memory
// consumption becomes higher when more partitions remain after the planner performs partition
// pruning", and each session that touches a partition keeps its metadata in memory. A
// thousand keeps the warning below "a few thousand", where queries that do not prune well
// already pay.
inline constexpr std::size_t many_partitions = 1000;

// leaf_partition_count: the partitions that hold rows (a subpartitioned partition does not).
std::size_t leaf_partition_count(const target_plan& plan);

// partition_count_warning: past many_partitions, the warning with the count, why it hurts
// and a coarser interval or step that would stay under the threshold (when level 1 is a
// RANGE with one); nullopt otherwise.
std::optional<std::string> partition_count_warning(const target_plan& plan);

}  // namespace partshift::plan
