// partition_naming: names for the relations partshift creates (partitions, target table, target
// indexes): readable, legal, unique within the plan and at most 63 bytes (NAMEDATALEN - 1).
// Returns unquoted names; rendering still goes through quote_ident(), and the fitting to 63
// bytes is pg::fit_identifier. Knows nothing about bounds or SQL.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace partshift::plan {

// label_for_value turns a LIST value into a name part: ASCII letters lowercased, every run of
// other bytes (spaces, punctuation, non-ASCII) collapsed into one '_', leading/trailing '_'
// dropped; "v" when nothing is left. "Mathematics" -> "mathematics", "A/B test" -> "a_b_test".
std::string label_for_value(std::string_view value);

// name_allocator hands out names that are unique among everything it has handed out or
// reserved: "base" if free, else "base_2", "base_3", ... each passed through pg::fit_identifier().
// Relations and indexes share one namespace per schema in PostgreSQL, so one allocator serves a
// whole plan.
class name_allocator {
  public:
    // reserve marks a name as taken without handing it out (the source, target and final names).
    void reserve(std::string_view name);
    // take returns a fitted, unique name derived from wanted.
    std::string take(std::string_view wanted);
    bool taken(std::string_view name) const { return used_.count(std::string(name)) > 0; }

  private:
    std::set<std::string> used_;
};

}  // namespace partshift::plan
