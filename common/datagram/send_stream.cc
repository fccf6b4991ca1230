#include "common/datagram/send_stream.h"

#include <algorithm>

namespace confab::datagram {

size_t SendStream::writable() const {
  const uint64_t unacked = write_end() - acked_end();
  return unacked >= buffer_bytes_ ? 0 : buffer_bytes_ - unacked;
}

size_t SendStream::Write(ByteView data) {
  const size_t n = std::min(data.size(), writable());
  buffer_.insert(buffer_.end(), data.begin(), data.begin() + n);
  return n;
}

bool SendStream::HasDataToSend(uint64_t peer_max_offset) const {
  return !lost_.empty() || sent_end_ < std::min(write_end(), peer_max_offset);
}

bool SendStream::BlockedByFlowControl(uint64_t peer_max_offset) const {
  return lost_.empty() && sent_end_ < write_end() && sent_end_ >= peer_max_offset;
}

std::optional<SendStream::Chunk> SendStream::NextChunk(size_t max_bytes, uint64_t peer_max_offset) {
  if (max_bytes == 0)
    return std::nullopt;
  if (std::optional<Range> lost = lost_.First()) {
    const uint64_t length = std::min<uint64_t>(lost->size(), max_bytes);
    lost_.Remove(lost->begin, lost->begin + length);
    retransmitted_bytes_ += length;
    const size_t at = lost->begin - base_offset_;
    return Chunk{lost->begin, ByteView(buffer_.data() + at, length), true};
  }
  const uint64_t limit = std::min(write_end(), peer_max_offset);
  if (sent_end_ >= limit)
    return std::nullopt;
  const uint64_t length = std::min<uint64_t>(limit - sent_end_, max_bytes);
  const uint64_t offset = sent_end_;
  sent_end_ += length;
  return Chunk{offset, ByteView(buffer_.data() + (offset - base_offset_), length), false};
}

void SendStream::OnAcked(uint64_t offset, uint64_t length) {
  uint64_t begin = std::max(offset, acked_end());
  const uint64_t end = offset + length;
  if (begin >= end)
    return;
  acked_.Add(begin, end);
  lost_.Remove(begin, end);
  const uint64_t contiguous = acked_.ContiguousEnd(acked_end());
  if (contiguous > acked_end()) {
    acked_.Remove(acked_end(), contiguous);
    head_ = contiguous - base_offset_;
    Compact();
  }
}

void SendStream::OnLost(uint64_t offset, uint64_t length) {
  uint64_t begin = std::max(offset, acked_end());
  const uint64_t end = offset + length;
  if (begin >= end)
    return;
  lost_.Add(begin, end);
  // Parts acknowledged meanwhile (by a later copy) need no resend.
  for (auto it = acked_.begin(); it != acked_.end() && it->first < end; ++it)
    lost_.Remove(it->first, it->second);
}

void SendStream::Compact() {
  // Erasing the front is a memmove of what remains: do it only when the
  // acknowledged prefix is large, so each byte moves O(1) times.
  if (head_ < 64 * 1024 || head_ < buffer_.size() / 2)
    return;
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(head_));
  base_offset_ += head_;
  head_ = 0;
}

}  // namespace confab::datagram
