// SendStream: the sending half of one reliable byte stream. Holds every byte
// written until the peer acknowledges it, hands out chunks to send (lost
// ones before new ones) and stays within the peer's flow-control limit.
//
// Bytes are addressed by stream offset. Memory is bounded: Write accepts at
// most `buffer_bytes` not yet acknowledged. Sans-I/O; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/base/bytes.h"
#include "common/datagram/range_set.h"

namespace confab::datagram {

class SendStream {
 public:
  explicit SendStream(size_t buffer_bytes) : buffer_bytes_(buffer_bytes) {}

  // Appends as much of `data` as the buffer allows; returns how much.
  size_t Write(ByteView data);
  // Bytes Write would accept now.
  size_t writable() const;

  struct Chunk {
    uint64_t offset;
    ByteView data;  // valid until the next non-const call
    bool retransmission;
  };
  // The next chunk to send, at most `max_bytes`: the lowest lost range first,
  // else new bytes below `peer_max_offset`. The chunk counts as in flight
  // until OnAcked or OnLost. Nothing when there is nothing to send.
  std::optional<Chunk> NextChunk(size_t max_bytes, uint64_t peer_max_offset);
  bool HasDataToSend(uint64_t peer_max_offset) const;
  // True when new data is waiting only for the peer's flow-control limit.
  bool BlockedByFlowControl(uint64_t peer_max_offset) const;

  // The peer acknowledged [offset, offset + length): never resent, and freed
  // once everything before it is acknowledged too.
  void OnAcked(uint64_t offset, uint64_t length);
  // A packet carrying [offset, offset + length) was declared lost: whatever
  // of it is not acknowledged is queued for retransmission.
  void OnLost(uint64_t offset, uint64_t length);

  // Offsets: everything below acked_end() is acknowledged; sent_end() is one
  // past the highest byte ever sent; write_end() one past the last written.
  uint64_t acked_end() const { return base_offset_ + head_; }
  uint64_t sent_end() const { return sent_end_; }
  uint64_t write_end() const { return base_offset_ + buffer_.size(); }
  uint64_t retransmitted_bytes() const { return retransmitted_bytes_; }

 private:
  void Compact();

  size_t buffer_bytes_;
  Bytes buffer_;              // bytes from base_offset_ to write_end()
  uint64_t base_offset_ = 0;  // stream offset of buffer_[0]
  size_t head_ = 0;           // buffer_[0, head_) is acknowledged, kept until compaction
  uint64_t sent_end_ = 0;
  RangeSet acked_;  // acknowledged ranges at or above acked_end()
  RangeSet lost_;   // ranges waiting to be resent
  uint64_t retransmitted_bytes_ = 0;
};

}  // namespace confab::datagram
