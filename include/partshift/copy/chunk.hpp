// chunk: one key range of the source, copied in one source snapshot and committed on the target
// together with its row of partshift.chunks. Plain data; no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partshift::copy {

// key_value: one bound, one text-encoded value per apply-key column (the column's text output,
// cast back to the column's type in predicates). nullopt = unbounded.
using key_value = std::vector<std::string>;

// chunk_bounds: lower inclusive, upper exclusive, each nullopt when unbounded. The first chunk
// has no lower and the last no upper bound, so keys inserted outside the planned min..max
// later are still covered by some chunk.
struct chunk_bounds {
    std::optional<key_value> lower;
    std::optional<key_value> upper;
    bool operator==(const chunk_bounds&) const = default;
};

struct chunk {
    int id = 0;  // 1-based, in key order
    chunk_bounds bounds;
    bool done = false;
    int64_t rows = 0;      // rows copied, once done
    std::string high_lsn;  // pg_lsn text, once done
};

// describe_bounds renders a range for messages: "[(1000), (2000))", "[-inf, (5))".
std::string describe_bounds(const chunk_bounds& bounds);

}  // namespace partshift::copy
