// pg_clock: PostgreSQL's timestamp epoch (microseconds since 2000-01-01 00:00 UTC), used by
// commit times in pgoutput and the clock field of standby status updates. now_pg_epoch_micros is
// the only impure function here (it reads the system clock); keep it out of pure code paths and
// pass its value in instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace partshift::stream {

// Seconds between the Unix epoch and 2000-01-01 00:00:00 UTC.
inline constexpr int64_t pg_epoch_offset_seconds = 946'684'800;

// to_pg_epoch_micros / from_pg_epoch_micros convert between system_clock and the PG epoch.
int64_t to_pg_epoch_micros(std::chrono::system_clock::time_point t) noexcept;
std::chrono::system_clock::time_point from_pg_epoch_micros(int64_t micros) noexcept;

// now_pg_epoch_micros reads the system clock.
int64_t now_pg_epoch_micros() noexcept;

}  // namespace partshift::stream
