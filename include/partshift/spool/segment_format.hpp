// segment_format: the on-disk layout of spool segments, shared by writer, reader and cleanup.
// Pure functions over bytes and names plus one directory listing; no record semantics.
//
// A spool directory holds segment files named <16 hex digits>.seg (upper case, zero padded:
// lexical order = LSN order). The name is the LSN of the first transaction (its Begin
// final_lsn) or non-transactional message in the segment. Segments are rotated only at
// transaction boundaries, so every transaction lies in one segment, and every transaction in
// a segment ends at or before the next segment's name.
//
// File layout: the 8-byte magic "PSSPOOL1", then records, each framed as
//   uint32 length (little-endian) | uint32 CRC-32C (little-endian) | length bytes of payload
// where the CRC covers the 4 length bytes and the payload, and the payload is a serialized
// partshift.proto.spool_record. Each segment starts with a link record naming the segment
// before it and that segment's size (segment_chain.hpp; absent in older spools), then a
// Relation record for every relation known when it was created, so reading can start at any
// segment.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "partshift/stream/pgoutput_messages.hpp"

namespace partshift::spool {

inline constexpr std::string_view segment_magic = "PSSPOOL1";
inline constexpr std::size_t frame_header_size = 8;

// crc32c of bytes (Castagnoli; crc32c("123456789") == 0xE3069283).
uint32_t crc32c(std::string_view bytes) noexcept;

// append_frame appends one framed record (header + payload) to out.
void append_frame(std::string& out, std::string_view payload);

// frame_header: the decoded 8-byte header.
struct frame_header {
    uint32_t length = 0;
    uint32_t crc = 0;
};
frame_header parse_frame_header(std::string_view eight_bytes) noexcept;

// frame_crc_matches checks a payload against its header.
bool frame_crc_matches(const frame_header& header, std::string_view payload) noexcept;

// segment_file_name: "00000016B374D848.seg"-style name for a first LSN.
std::string segment_file_name(stream::lsn_t first_lsn);
// parse_segment_file_name returns the LSN, or nothing for a name that is not a segment.
std::optional<stream::lsn_t> parse_segment_file_name(std::string_view file_name);

struct segment_info {
    stream::lsn_t first_lsn = 0;
    std::filesystem::path path;
};
// list_segments returns the segments in dir in LSN order (other files are ignored). Throws
// partshift::runtime_error if the directory cannot be read.
std::vector<segment_info> list_segments(const std::filesystem::path& dir);

}  // namespace partshift::spool
