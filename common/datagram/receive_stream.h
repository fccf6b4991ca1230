// ReceiveStream: the receiving half of one reliable byte stream. Reassembles
// chunks that arrive out of order or more than once, delivers each byte
// exactly once and in order, and enforces the flow-control limit it
// advertises: the peer may send up to read_offset + window bytes.
//
// Memory is bounded by the window. Sans-I/O; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>

#include "common/base/bytes.h"
#include "common/base/status.h"

namespace confab::datagram {

class ReceiveStream {
 public:
  explicit ReceiveStream(uint64_t window_bytes)
      : window_bytes_(window_bytes), advertised_max_(window_bytes) {}

  // Accepts a chunk. Bytes already received are ignored. ResourceExhausted
  // (a flow-control violation: the peer is broken or hostile) when it
  // reaches beyond the advertised limit; nothing is stored then.
  [[nodiscard]] Status OnData(uint64_t offset, ByteView data);

  // Bytes ready to read in order.
  size_t readable() const { return ready_.size() - ready_head_; }
  // Copies up to out.size() ready bytes; returns how many.
  size_t Read(std::span<uint8_t> out);

  // True when the reader has consumed enough that a larger limit should be
  // advertised (half a window since the last advertisement).
  bool ShouldAdvertise() const;
  // The limit to advertise now; marks it advertised.
  uint64_t Advertise();
  // The last limit advertised (a lost MAX_STREAM_DATA resends it).
  uint64_t advertised_max() const { return advertised_max_; }
  uint64_t read_offset() const { return read_offset_; }

 private:
  void Compact();

  uint64_t window_bytes_;
  uint64_t advertised_max_;
  uint64_t read_offset_ = 0;         // bytes handed to the reader
  Bytes ready_;                      // in-order bytes not yet read
  size_t ready_head_ = 0;            // ready_[0, ready_head_) already read
  std::map<uint64_t, Bytes> early_;  // out-of-order chunks, by offset
  uint64_t early_bytes_ = 0;
};

}  // namespace confab::datagram
