// The frames inside a data packet's payload, after decryption. A payload is
// a sequence of frames; every integer is big-endian and fixed-width (simple
// to check; the bytes saved by QUIC's varints matter little at 1200-byte
// packets). A packet is "ack-eliciting" when it holds anything but ACK.
//
//   PADDING         0x00                       (one byte; ignored: fills PMTU probes)
//   PING            0x01                       (elicits an ACK: keepalive, probe)
//   ACK             0x02 largest(8) delay_us(4) count(1) first(4) {gap(4) len(4)}*count
//   STREAM          0x03 stream(1) offset(8) length(2) data
//   MAX_STREAM_DATA 0x04 stream(1) max_offset(8)
//   CLOSE           0x05 length(2) reason (UTF-8)
//
// ACK ranges follow QUIC (RFC 9000 19.3.1): the first range is
// [largest - first, largest]; each further range lies `gap` + 2 below the
// smallest of the previous one and spans `len` + 1 packet numbers downwards.
//
// Sans-I/O; parsing validates everything before the caller acts on any of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/datagram/range_set.h"

namespace confab::datagram {

inline constexpr size_t kMaxStreams = 4;
inline constexpr size_t kMaxAckRangesPerFrame = 32;
inline constexpr size_t kStreamFrameHeaderBytes = 1 + 1 + 8 + 2;
inline constexpr size_t kMaxStreamDataFrameBytes = 1 + 1 + 8;

struct PingFrame {};
struct AckFrame {
  uint64_t delay_us = 0;
  std::vector<Range> ranges;  // highest first, disjoint, non-empty
};
struct StreamFrame {
  uint8_t stream = 0;
  uint64_t offset = 0;
  ByteView data;  // points into the payload
};
struct MaxStreamDataFrame {
  uint8_t stream = 0;
  uint64_t max_offset = 0;
};
struct CloseFrame {
  std::string reason;
};
using Frame = std::variant<PingFrame, AckFrame, StreamFrame, MaxStreamDataFrame, CloseFrame>;

// Every frame of `payload`, or Corruption naming what was wrong (unknown
// type, truncated field, stream id >= kMaxStreams, ACK ranges that overlap
// or run below zero). Stream data views point into `payload`.
[[nodiscard]] Result<std::vector<Frame>> ParseFrames(ByteView payload);

// Appends frames to a fixed buffer. Each Add returns false, writing
// nothing, when the frame does not fit.
class FrameWriter {
 public:
  explicit FrameWriter(std::span<uint8_t> out) : out_(out) {}

  bool AddPing();
  // `bytes` PADDING frames (zero bytes), which the parser skips. Used to
  // bring a path MTU probe to its size.
  bool AddPadding(size_t bytes);
  // Up to kMaxAckRangesPerFrame of the highest ranges of `received`, which
  // must not be empty.
  bool AddAck(const RangeSet& received, uint64_t delay_us);
  bool AddStream(uint8_t stream, uint64_t offset, ByteView data);
  bool AddMaxStreamData(uint8_t stream, uint64_t max_offset);
  bool AddClose(std::string_view reason);

  size_t size() const { return used_; }
  size_t remaining() const { return out_.size() - used_; }
  // The largest stream payload that still fits, 0 if none.
  size_t StreamRoom() const {
    return remaining() > kStreamFrameHeaderBytes ? remaining() - kStreamFrameHeaderBytes : 0;
  }

 private:
  void Put8(uint8_t v) { out_[used_++] = v; }
  void Put16(uint16_t v);
  void Put32(uint32_t v);
  void Put64(uint64_t v);

  std::span<uint8_t> out_;
  size_t used_ = 0;
};

}  // namespace confab::datagram
