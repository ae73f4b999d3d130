// Test helper: loads the golden pgoutput fixtures captured by
// scripts/capture-pgoutput-fixtures.sh (format in tests/fixtures/pgoutput/README.md).
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "partshift/stream/pgoutput_messages.hpp"
#include "unit/fixtures_dir.hpp"

namespace partshift::testing {

struct fixture_message {
    std::string lsn;    // as the server printed it
    uint32_t xid = 0;   // 0 for non-transactional messages
    std::string bytes;  // the raw pgoutput message
    int line = 0;
};

inline std::string from_hex(const std::string& hex) {
    if (hex.size() % 2 != 0) throw std::runtime_error("odd hex length");
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

inline std::vector<fixture_message> load_fixture(const std::string& name) {
    const std::string path = std::string(partshift::testing::fixtures_dir()) + "/pgoutput/" + name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open fixture " + path);
    std::vector<fixture_message> out;
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        std::istringstream fields(line);
        fixture_message m;
        std::string hex;
        fields >> m.lsn >> m.xid >> hex;
        m.bytes = from_hex(hex);
        m.line = n;
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace partshift::testing
