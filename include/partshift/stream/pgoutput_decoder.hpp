// pgoutput_decoder: turns the bytes of one pgoutput message (the payload of one XLogData frame)
// into a stream::message. Pure: no I/O, no catalog, no state between calls; the caller tracks
// whether it is inside a Stream Start ... Stream Stop block. Never reads out of bounds and never
// allocates more than the input can justify, so it is safe to feed arbitrary bytes.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "partshift/error.hpp"
#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::stream {

// decode_error: the bytes are not one well-formed pgoutput message (truncated, unknown message
// type, bad tuple kind, trailing bytes). offset() is where in the message decoding failed. It stops
// the job (a runtime_error, exit 1): the server never sends such bytes, so they mean a bug or
// a protocol version partshift does not speak.
class decode_error : public partshift::runtime_error {
  public:
    decode_error(const std::string& what, std::size_t offset)
        : partshift::runtime_error(what), offset_(offset) {}
    std::size_t offset() const noexcept { return offset_; }

  private:
    std::size_t offset_;
};

// decode_pgoutput decodes one message. in_stream_block must be true between a Stream Start
// ('S') and a Stream Stop ('E'): there, data messages carry a leading [xid]. Supports protocol
// versions 1 and 2 (PG14+) with or without binary mode; two-phase messages (proto 3) and PG16's
// parallel-streaming abort fields (proto 4) are rejected, since partshift never asks for them.
// Throws decode_error.
message decode_pgoutput(std::span<const std::byte> bytes, bool in_stream_block);
message decode_pgoutput(std::string_view bytes, bool in_stream_block);

// message_type returns the pgoutput type byte of a decoded message ('B', 'C', 'I', ...).
char message_type(const message& msg) noexcept;

}  // namespace partshift::stream
