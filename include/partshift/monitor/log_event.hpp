// log_event: a log line that carries fields for machines. The code that logs a line a machine
// acts on (a phase change, a lag or progress report, a cutover attempt and its result, a stop,
// an error) passes what it knows as a log_fields; the text log prints only the sentence, the
// JSON log (--log-format json) prints the sentence as `msg` and each field as a member of its
// own, numbers as JSON numbers.
// The fields travel inside the message itself, ahead of the sentence and marked by control
// characters (see encode_log_payload), so they reach every sink with the line they belong to:
// no logger-wide or thread-local context (spdlog's MDC) that another line could pick up.
// Must not: decide where lines go or how a line looks (the formatters do), or log on its own.
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace partshift::monitor {

// log_fields: what a line is about, each left out of the JSON line when not set. Written as
// designated initializers at the call ({.job = …, .event = "lag"}); the `{}` keep GCC quiet
// about the members a call leaves out.
struct log_fields {
    std::string_view job{};    // the job's name
    std::string_view phase{};  // the job's phase (copy, index, replay, follow, done)
    std::string_view event{};  // a short stable name a machine matches on (README: "event")
    std::optional<int64_t> lag_bytes{};
    std::optional<double> lag_seconds{};
    std::optional<int64_t> rows_copied{};
    std::optional<int64_t> rows_total{};
    std::string_view applied_lsn{};  // the applier's checkpoint, committed on the target
    std::string_view durable_lsn{};  // of it, what the target has flushed (a crash keeps it)
};

// encode_log_payload: `text` with `fields` ahead of it, as log_event hands it to spdlog.
std::string encode_log_payload(const log_fields& fields, std::string_view text);

// decoded_payload: a message split back into its parts; a message that log_event did not
// encode is all text.
struct decoded_payload {
    std::string_view text;
    // The fields as JSON members (`"job":"events","lag_bytes":42`), empty when none; every
    // string escaped and every number checked here, whatever the payload held.
    std::string json_members;
};
decoded_payload decode_log_payload(std::string_view payload);

// log_text_of: the sentence alone (what the text log prints), without decoding the fields.
std::string_view log_text_of(std::string_view payload);

// log_event_text: logs `text` at `level` with `fields` on the default logger.
void log_event_text(spdlog::level::level_enum level, const log_fields& fields,
                    std::string_view text);

// log_event: as spdlog::info and its siblings, with the fields first.
template <typename... Args>
void log_event(spdlog::level::level_enum level, const log_fields& fields,
               fmt::format_string<Args...> format, Args&&... args) {
    if (!spdlog::default_logger_raw()->should_log(level)) return;
    log_event_text(level, fields, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace partshift::monitor
