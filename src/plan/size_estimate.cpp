// size_estimate: the disk and WAL arithmetic and the partition-count warning (see the header).
#include "partshift/plan/size_estimate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "partshift/monitor/byte_size.hpp"
#include "partshift/plan/time_interval.hpp"

namespace partshift::plan {
namespace {

// seconds_of: an interval's length, months and years at their average lengths (an estimate
// of partition counts needs no calendar).
double seconds_of(const time_interval& i) {
    constexpr double day = 86400;
    double unit = 3600;
    switch (i.unit) {
        case interval_unit::hour:
            unit = 3600;
            break;
        case interval_unit::day:
            unit = day;
            break;
        case interval_unit::week:
            unit = 7 * day;
            break;
        case interval_unit::month:
            unit = 365.2425 * day / 12;
            break;
        case interval_unit::year:
            unit = 365.2425 * day;
            break;
    }
    return unit * i.count;
}

// estimated_count: the partitions `count` would become with each level-1 partition `factor`
// times as wide.
std::size_t estimated_count(std::size_t count, double factor) {
    return static_cast<std::size_t>(std::ceil(static_cast<double>(count) / factor));
}

// coarser_interval: the first of the usual intervals wider than `current` that keeps the plan
// under many_partitions; nullopt when even a year is too fine.
std::optional<std::string> coarser_interval(const std::string& current, std::size_t count) {
    time_interval now;
    try {
        now = parse_interval(current);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    const time_interval candidates[] = {{1, interval_unit::day},
                                        {1, interval_unit::week},
                                        {1, interval_unit::month},
                                        {3, interval_unit::month},
                                        {1, interval_unit::year}};
    for (const auto& c : candidates) {
        const double factor = seconds_of(c) / seconds_of(now);
        if (factor <= 1) continue;
        const auto n = estimated_count(count, factor);
        if (n <= many_partitions)
            return fmt::format("--interval '{}' (about {} partitions)", to_string(c), n);
    }
    return std::nullopt;
}

// coarser_step: the step ten, a hundred, ... times wider that keeps the plan under
// many_partitions; nullopt for a step that is not a plain integer.
std::optional<std::string> coarser_step(const std::string& step, std::size_t count) {
    if (step.empty() || step.size() > 15 ||
        !std::all_of(step.begin(), step.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    const int64_t base = std::stoll(step);
    if (base <= 0) return std::nullopt;
    for (int64_t factor = 10; factor <= 1'000'000; factor *= 10) {
        const auto n = estimated_count(count, static_cast<double>(factor));
        if (n <= many_partitions)
            return fmt::format("--step {} (about {} partitions)", base * factor, n);
    }
    return std::nullopt;
}

}  // namespace

std::size_t leaf_partition_count(const target_plan& plan) {
    return static_cast<std::size_t>(
        std::count_if(plan.partitions.begin(), plan.partitions.end(),
                      [](const partition& p) { return !p.is_partitioned; }));
}

size_estimate estimate_sizes(const target_plan& plan, const storage_facts& facts) {
    size_estimate e;
    const auto leaves = static_cast<int64_t>(leaf_partition_count(plan));
    e.table_bytes = facts.table_bytes;
    for (const auto& i : plan.indexes) {
        int64_t source = 0;
        for (const auto& s : facts.indexes)
            if (s.name == i.source_index) source = s.bytes;
        const int64_t bytes = source + leaves * facts.block_size;
        e.indexes.push_back({i.name, bytes});
        e.indexes_bytes += bytes;
    }
    e.total_bytes = e.table_bytes + e.indexes_bytes;
    // The copy writes the heap (and TOAST) once into WAL; each index build writes its index
    // whole (wal_level above minimal logs every page a build writes).
    e.wal_bytes = static_cast<int64_t>(static_cast<double>(e.table_bytes) * wal_record_overhead) +
                  e.indexes_bytes;
    // The first hint bit set on each new page after a checkpoint logs the whole page when
    // hint bits are WAL-logged and full_page_writes is on: at most the heap once more.
    e.wal_bytes_high =
        e.wal_bytes + (facts.full_page_writes && facts.hint_bits_logged ? facts.table_bytes : 0);
    e.basis = fmt::format(
        "from the source's sizes (pg_table_size {}, pg_indexes_size {}) and {} leaf "
        "partitions; the target is written without the source's bloat, so it is usually "
        "smaller",
        monitor::human_size(static_cast<double>(facts.table_bytes)),
        monitor::human_size(static_cast<double>(facts.indexes_bytes)), leaves);
    e.lines = estimate_lines(e, facts);
    return e;
}

std::vector<std::string> estimate_lines(const size_estimate& e, const storage_facts& facts) {
    using monitor::human_size;
    std::vector<std::string> out;
    std::string indexes;
    for (const auto& i : e.indexes)
        indexes += fmt::format("{}{} ~{}", indexes.empty() ? "" : ", ", i.name,
                               human_size(static_cast<double>(i.bytes)));
    out.push_back(fmt::format("disk: ~{} in all: table ~{}, indexes ~{}{} (estimate {})",
                              human_size(static_cast<double>(e.total_bytes)),
                              human_size(static_cast<double>(e.table_bytes)),
                              human_size(static_cast<double>(e.indexes_bytes)),
                              indexes.empty() ? "" : " (" + indexes + ")", e.basis));
    std::string wal = fmt::format(
        "WAL: the copy and the index builds write ~{} (estimate: the table once, plus {:.0f}% "
        "for record headers, and every index page; wal_level {}, full_page_writes {})",
        human_size(static_cast<double>(e.wal_bytes)), (wal_record_overhead - 1) * 100,
        facts.wal_level, facts.full_page_writes ? "on" : "off");
    if (e.wal_bytes_high > e.wal_bytes)
        wal += fmt::format(
            ", up to ~{} when reading the new rows first sets their hint bits after a "
            "checkpoint (data_checksums or wal_log_hints is on: each such page is logged whole)",
            human_size(static_cast<double>(e.wal_bytes_high)));
    wal +=
        "; the job's slot keeps this WAL, and what the workload writes meanwhile, until the "
        "changes are applied";
    out.push_back(std::move(wal));
    out.push_back(
        "free space: not something SQL can tell; check that the file systems of the table's "
        "tablespace and of pg_wal have room for the figures above");
    return out;
}

std::optional<std::string> partition_count_warning(const target_plan& plan) {
    const std::size_t count = plan.partitions.size();
    if (count <= many_partitions) return std::nullopt;
    std::string text = fmt::format(
        "{} partitions: past about {}, query planning gets slower and each session's memory "
        "grows for every partition a query does not prune (PostgreSQL docs, \"Best Practices "
        "for Declarative Partitioning\")",
        count, many_partitions);
    const auto& l1 = plan.spec.level1;
    std::optional<std::string> coarser;
    if (l1.method == partition_method::range && l1.interval)
        coarser = coarser_interval(*l1.interval, count);
    else if (l1.method == partition_method::range && l1.step)
        coarser = coarser_step(*l1.step, count);
    if (coarser)
        text += "; a coarser " + std::string(l1.interval ? "interval" : "step") + " such as " +
                *coarser + " keeps planning fast";
    else
        text += "; consider fewer partitions";
    return text;
}

}  // namespace partshift::plan
