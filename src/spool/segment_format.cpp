// segment_format: CRC, record framing and segment names of the spool (layout in the header).
// Must not know what a record means; the writer and reader own that.
#include "partshift/spool/segment_format.hpp"

#include <algorithm>
#include <boost/crc.hpp>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>

#include "partshift/error.hpp"

namespace partshift::spool {

namespace {

// CRC-32C (Castagnoli): better error detection than CRC-32 for the same cost.
using crc32c_type = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

// crc_state: a running CRC-32C (initial value and final inversion as crc32c_type's). Every
// record is checksummed twice (written, read back), which made Boost.CRC's byte-at-a-time table
// a tenth of partshift's own CPU during a replay; x86-64's SSE4.2 crc32 instruction computes
// the same polynomial eight bytes at a time. Boost.CRC stays for CPUs without it.
class crc_state {
  public:
    void add(const char* p, std::size_t n) noexcept {
#if defined(__x86_64__)
        if (hardware_) {
            register_ = add_sse42(register_, p, n);
            return;
        }
#endif
        if (!table_) table_.emplace();
        table_->process_bytes(p, n);
    }
    uint32_t checksum() const noexcept {
        if (hardware_) return register_ ^ 0xFFFFFFFFu;
        return table_ ? table_->checksum() : crc32c_type().checksum();
    }

  private:
#if defined(__x86_64__)
    static bool has_sse42() noexcept {
        static const bool has = __builtin_cpu_supports("sse4.2");
        return has;
    }
    __attribute__((target("sse4.2"))) static uint32_t add_sse42(uint32_t crc, const char* p,
                                                                std::size_t n) noexcept {
        uint64_t c = crc;
        for (; n >= 8; p += 8, n -= 8) {
            uint64_t v;
            std::memcpy(&v, p, 8);
            c = __builtin_ia32_crc32di(c, v);
        }
        auto c32 = static_cast<uint32_t>(c);
        for (; n > 0; ++p, --n) c32 = __builtin_ia32_crc32qi(c32, static_cast<unsigned char>(*p));
        return c32;
    }
    bool hardware_ = has_sse42();
#else
    bool hardware_ = false;
#endif
    uint32_t register_ = 0xFFFFFFFFu;  // the hardware's running value
    // Only without the instruction: building one costs more than checksumming a record.
    std::optional<crc32c_type> table_;
};

void put_le32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t get_le32(std::string_view b) noexcept {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | static_cast<uint8_t>(b[static_cast<std::size_t>(i)]);
    return v;
}

// frame_crc covers the length field too, so a corrupted length is caught as well.
uint32_t frame_crc(uint32_t length, std::string_view payload) noexcept {
    const char length_bytes[4] = {
        static_cast<char>(length & 0xFF), static_cast<char>((length >> 8) & 0xFF),
        static_cast<char>((length >> 16) & 0xFF), static_cast<char>((length >> 24) & 0xFF)};
    crc_state crc;
    crc.add(length_bytes, sizeof length_bytes);
    crc.add(payload.data(), payload.size());
    return crc.checksum();
}

}  // namespace

uint32_t crc32c(std::string_view bytes) noexcept {
    crc_state crc;
    crc.add(bytes.data(), bytes.size());
    return crc.checksum();
}

void append_frame(std::string& out, std::string_view payload) {
    const auto length = static_cast<uint32_t>(payload.size());
    put_le32(out, length);
    put_le32(out, frame_crc(length, payload));
    out.append(payload);
}

frame_header parse_frame_header(std::string_view eight_bytes) noexcept {
    return {get_le32(eight_bytes.substr(0, 4)), get_le32(eight_bytes.substr(4, 4))};
}

bool frame_crc_matches(const frame_header& header, std::string_view payload) noexcept {
    return header.length == payload.size() && frame_crc(header.length, payload) == header.crc;
}

std::string segment_file_name(stream::lsn_t first_lsn) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llX.seg", static_cast<unsigned long long>(first_lsn));
    return buf;
}

std::optional<stream::lsn_t> parse_segment_file_name(std::string_view file_name) {
    if (file_name.size() != 20 || !file_name.ends_with(".seg")) return std::nullopt;
    for (const char c : file_name.substr(0, 16)) {
        // Only the upper-case form the writer produces: no two names for one LSN.
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return std::nullopt;
    }
    stream::lsn_t lsn = 0;
    std::from_chars(file_name.data(), file_name.data() + 16, lsn, 16);
    return lsn;
}

std::vector<segment_info> list_segments(const std::filesystem::path& dir) {
    std::vector<segment_info> out;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec)
        throw runtime_error("spool: cannot read directory " + dir.string() + ": " + ec.message());
    for (const auto& entry : it) {
        if (const auto lsn = parse_segment_file_name(entry.path().filename().string())) {
            out.push_back({*lsn, entry.path()});
        }
    }
    std::sort(out.begin(), out.end(), [](const segment_info& a, const segment_info& b) {
        return a.first_lsn < b.first_lsn;
    });
    return out;
}

}  // namespace partshift::spool
