#include "common/datagram/receive_stream.h"

#include <algorithm>
#include <cstring>

namespace confab::datagram {

Status ReceiveStream::OnData(uint64_t offset, ByteView data) {
  const uint64_t end = offset + data.size();
  if (end > advertised_max_)
    return Status::ResourceExhausted("stream data beyond the flow-control limit");
  uint64_t contiguous = read_offset_ + readable();
  if (end <= contiguous)
    return Status::Ok();  // a duplicate
  if (offset <= contiguous) {
    // Extends the in-order bytes, then absorbs early chunks it reaches.
    ready_.insert(ready_.end(), data.begin() + static_cast<ptrdiff_t>(contiguous - offset),
                  data.end());
    contiguous = end;
    for (auto it = early_.begin(); it != early_.end() && it->first <= contiguous;) {
      const uint64_t chunk_end = it->first + it->second.size();
      if (chunk_end > contiguous) {
        ready_.insert(ready_.end(),
                      it->second.begin() + static_cast<ptrdiff_t>(contiguous - it->first),
                      it->second.end());
        contiguous = chunk_end;
      }
      early_bytes_ -= it->second.size();
      it = early_.erase(it);
    }
    return Status::Ok();
  }
  // Out of order. Keep the longer chunk at one offset; overlaps between
  // different offsets are trimmed when they join the in-order bytes.
  auto found = early_.find(offset);
  const size_t had = found == early_.end() ? 0 : found->second.size();
  if (had >= data.size())
    return Status::Ok();
  // Chunks overlapping at different offsets could otherwise hold many copies
  // of the window; an honest sender never gets near twice the window.
  if (early_bytes_ + data.size() - had > 2 * window_bytes_)
    return Status::ResourceExhausted("too many overlapping out-of-order stream chunks");
  auto [it, inserted] = early_.try_emplace(offset);
  early_bytes_ += data.size() - it->second.size();
  it->second.assign(data.begin(), data.end());
  return Status::Ok();
}

size_t ReceiveStream::Read(std::span<uint8_t> out) {
  const size_t n = std::min(out.size(), readable());
  if (n > 0)
    std::memcpy(out.data(), ready_.data() + ready_head_, n);
  ready_head_ += n;
  read_offset_ += n;
  Compact();
  return n;
}

bool ReceiveStream::ShouldAdvertise() const {
  return read_offset_ + window_bytes_ >= advertised_max_ + window_bytes_ / 2;
}

uint64_t ReceiveStream::Advertise() {
  advertised_max_ = std::max(advertised_max_, read_offset_ + window_bytes_);
  return advertised_max_;
}

void ReceiveStream::Compact() {
  if (ready_head_ == ready_.size()) {
    ready_.clear();
    ready_head_ = 0;
  } else if (ready_head_ >= 64 * 1024 && ready_head_ >= ready_.size() / 2) {
    ready_.erase(ready_.begin(), ready_.begin() + static_cast<ptrdiff_t>(ready_head_));
    ready_head_ = 0;
  }
}

}  // namespace confab::datagram
