// pg_clock: conversions between system_clock and PostgreSQL's 2000-01-01 epoch, plus the one
// clock read. Must not hold state.
#include "partshift/stream/pg_clock.hpp"

namespace partshift::stream {

namespace {
constexpr std::chrono::microseconds pg_epoch_offset{pg_epoch_offset_seconds * 1'000'000};
}  // namespace

int64_t to_pg_epoch_micros(std::chrono::system_clock::time_point t) noexcept {
    const auto since_unix =
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
    return (since_unix - pg_epoch_offset).count();
}

std::chrono::system_clock::time_point from_pg_epoch_micros(int64_t micros) noexcept {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::microseconds(micros) + pg_epoch_offset));
}

int64_t now_pg_epoch_micros() noexcept {
    return to_pg_epoch_micros(std::chrono::system_clock::now());
}

}  // namespace partshift::stream
