// byte_reader: bounds-checked big-endian reads over one protocol message, shared by the
// pgoutput decoder and the replication framing. Internal to src/stream. Every read checks the
// remaining length first and throws decode_error (with the offset) instead of reading past
// the end; it never copies more than the input holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "partshift/stream/pgoutput_decoder.hpp"

namespace partshift::stream::detail {

class byte_reader {
  public:
    // what names the message being read, for error text ("pgoutput Update message").
    byte_reader(std::string_view bytes, std::string_view what) : bytes_(bytes), what_(what) {}

    std::size_t offset() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
    bool at_end() const noexcept { return pos_ == bytes_.size(); }
    void set_what(std::string_view what) noexcept { what_ = what; }

    uint8_t u8() { return static_cast<uint8_t>(take(1)[0]); }
    char byte() { return take(1)[0]; }
    uint16_t u16() { return static_cast<uint16_t>(be(take(2))); }
    uint32_t u32() { return static_cast<uint32_t>(be(take(4))); }
    int32_t i32() { return static_cast<int32_t>(u32()); }
    uint64_t u64() { return be(take(8)); }
    int64_t i64() { return static_cast<int64_t>(u64()); }

    // bytes returns the next n bytes as a view into the input.
    std::string_view bytes(std::size_t n) { return take(n); }

    // cstring reads a NUL-terminated String (the NUL is consumed, not returned).
    std::string cstring() {
        const auto rest = bytes_.substr(pos_);
        const auto nul = rest.find('\0');
        if (nul == std::string_view::npos) fail("unterminated string");
        std::string out(rest.substr(0, nul));
        pos_ += nul + 1;
        return out;
    }

    // expect_end rejects trailing bytes: one frame carries exactly one message.
    void expect_end() {
        if (!at_end()) fail(std::to_string(remaining()) + " trailing byte(s)");
    }

    [[noreturn]] void fail(const std::string& why) const {
        throw decode_error("malformed " + std::string(what_) + ": " + why + " at offset " +
                               std::to_string(pos_) + " of " + std::to_string(bytes_.size()),
                           pos_);
    }

  private:
    std::string_view take(std::size_t n) {
        if (n > remaining()) {
            fail("truncated: need " + std::to_string(n) + " byte(s), have " +
                 std::to_string(remaining()));
        }
        const auto out = bytes_.substr(pos_, n);
        pos_ += n;
        return out;
    }

    static uint64_t be(std::string_view b) {
        uint64_t v = 0;
        for (const char c : b) v = (v << 8) | static_cast<uint8_t>(c);
        return v;
    }

    std::string_view bytes_;
    std::string_view what_;
    std::size_t pos_ = 0;
};

}  // namespace partshift::stream::detail
