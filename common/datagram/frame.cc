#include "common/datagram/frame.h"

#include <algorithm>
#include <cstring>

namespace confab::datagram {
namespace {

enum FrameType : uint8_t {
  kPadding = 0x00,
  kPing = 0x01,
  kAck = 0x02,
  kStream = 0x03,
  kMaxStreamData = 0x04,
  kClose = 0x05,
};

// Reads fixed-width big-endian fields; any read past the end sets failed_.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }
  bool failed() const { return failed_; }
  uint64_t Get(size_t bytes) {
    if (in_.size() - pos_ < bytes) {
      failed_ = true;
      pos_ = in_.size();
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i)
      v = (v << 8) | in_[pos_++];
    return v;
  }
  ByteView Take(size_t bytes) {
    if (in_.size() - pos_ < bytes) {
      failed_ = true;
      pos_ = in_.size();
      return {};
    }
    ByteView v = in_.subspan(pos_, bytes);
    pos_ += bytes;
    return v;
  }

 private:
  ByteView in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

Result<AckFrame> ParseAck(Reader& r) {
  AckFrame ack;
  const uint64_t largest = r.Get(8);
  ack.delay_us = r.Get(4);
  const uint64_t count = r.Get(1);
  const uint64_t first = r.Get(4);
  if (r.failed())
    return Status::Corruption("truncated ACK frame");
  if (first > largest)
    return Status::Corruption("ACK range below packet number 0");
  ack.ranges.push_back(Range{largest - first, largest + 1});
  uint64_t smallest = largest - first;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t gap = r.Get(4);
    const uint64_t len = r.Get(4);
    if (r.failed())
      return Status::Corruption("truncated ACK frame");
    if (smallest < gap + 2 || smallest - gap - 2 < len)
      return Status::Corruption("ACK range below packet number 0");
    const uint64_t high = smallest - gap - 2;
    ack.ranges.push_back(Range{high - len, high + 1});
    smallest = high - len;
  }
  return ack;
}

}  // namespace

Result<std::vector<Frame>> ParseFrames(ByteView payload) {
  std::vector<Frame> frames;
  Reader r(payload);
  while (!r.done()) {
    const uint8_t type = static_cast<uint8_t>(r.Get(1));
    switch (type) {
      case kPadding:
        break;  // nothing to report: it only makes the packet bigger
      case kPing:
        frames.emplace_back(PingFrame{});
        break;
      case kAck: {
        Result<AckFrame> ack = ParseAck(r);
        if (!ack.ok())
          return ack.status();
        frames.emplace_back(std::move(*ack));
        break;
      }
      case kStream: {
        StreamFrame f;
        f.stream = static_cast<uint8_t>(r.Get(1));
        f.offset = r.Get(8);
        const size_t length = r.Get(2);
        f.data = r.Take(length);
        if (r.failed())
          return Status::Corruption("truncated STREAM frame");
        if (f.stream >= kMaxStreams)
          return Status::Corruption("STREAM frame for an unknown stream");
        if (f.offset + length < f.offset)
          return Status::Corruption("STREAM frame offset overflows");
        frames.emplace_back(f);
        break;
      }
      case kMaxStreamData: {
        MaxStreamDataFrame f;
        f.stream = static_cast<uint8_t>(r.Get(1));
        f.max_offset = r.Get(8);
        if (r.failed())
          return Status::Corruption("truncated MAX_STREAM_DATA frame");
        if (f.stream >= kMaxStreams)
          return Status::Corruption("MAX_STREAM_DATA frame for an unknown stream");
        frames.emplace_back(f);
        break;
      }
      case kClose: {
        const size_t length = r.Get(2);
        ByteView reason = r.Take(length);
        if (r.failed())
          return Status::Corruption("truncated CLOSE frame");
        frames.emplace_back(CloseFrame{std::string(AsChars(reason))});
        break;
      }
      default:
        return Status::Corruption("unknown frame type");
    }
  }
  return frames;
}

void FrameWriter::Put16(uint16_t v) {
  Put8(static_cast<uint8_t>(v >> 8));
  Put8(static_cast<uint8_t>(v));
}
void FrameWriter::Put32(uint32_t v) {
  Put16(static_cast<uint16_t>(v >> 16));
  Put16(static_cast<uint16_t>(v));
}
void FrameWriter::Put64(uint64_t v) {
  Put32(static_cast<uint32_t>(v >> 32));
  Put32(static_cast<uint32_t>(v));
}

bool FrameWriter::AddPing() {
  if (remaining() < 1)
    return false;
  Put8(kPing);
  return true;
}

bool FrameWriter::AddPadding(size_t bytes) {
  if (remaining() < bytes)
    return false;
  std::memset(out_.data() + used_, kPadding, bytes);
  used_ += bytes;
  return true;
}

bool FrameWriter::AddAck(const RangeSet& received, uint64_t delay_us) {
  // Gaps and lengths are 32-bit fields: stop before a range that needs more.
  std::vector<Range> ranges;
  for (auto it = received.rbegin(); it != received.rend(); ++it) {
    const Range r{it->first, it->second};
    if (ranges.size() == kMaxAckRangesPerFrame || r.size() - 1 > UINT32_MAX)
      break;
    if (!ranges.empty() && ranges.back().begin - r.end > UINT32_MAX)
      break;
    ranges.push_back(r);
  }
  if (ranges.empty())
    return false;
  const size_t bytes = 1 + 8 + 4 + 1 + 4 + 8 * (ranges.size() - 1);
  if (remaining() < bytes)
    return false;
  Put8(kAck);
  Put64(ranges[0].end - 1);
  Put32(static_cast<uint32_t>(std::min<uint64_t>(delay_us, UINT32_MAX)));
  Put8(static_cast<uint8_t>(ranges.size() - 1));
  Put32(static_cast<uint32_t>(ranges[0].size() - 1));
  for (size_t i = 1; i < ranges.size(); ++i) {
    // QUIC's encoding: gap = previous smallest - this largest - 2.
    Put32(static_cast<uint32_t>(ranges[i - 1].begin - (ranges[i].end - 1) - 2));
    Put32(static_cast<uint32_t>(ranges[i].size() - 1));
  }
  return true;
}

bool FrameWriter::AddStream(uint8_t stream, uint64_t offset, ByteView data) {
  if (data.size() > UINT16_MAX || remaining() < kStreamFrameHeaderBytes + data.size())
    return false;
  Put8(kStream);
  Put8(stream);
  Put64(offset);
  Put16(static_cast<uint16_t>(data.size()));
  if (!data.empty())
    std::memcpy(out_.data() + used_, data.data(), data.size());
  used_ += data.size();
  return true;
}

bool FrameWriter::AddMaxStreamData(uint8_t stream, uint64_t max_offset) {
  if (remaining() < kMaxStreamDataFrameBytes)
    return false;
  Put8(kMaxStreamData);
  Put8(stream);
  Put64(max_offset);
  return true;
}

bool FrameWriter::AddClose(std::string_view reason) {
  reason = reason.substr(0, std::min<size_t>(reason.size(), 200));
  if (remaining() < 3 + reason.size())
    return false;
  Put8(kClose);
  Put16(static_cast<uint16_t>(reason.size()));
  std::memcpy(out_.data() + used_, reason.data(), reason.size());
  used_ += reason.size();
  return true;
}

}  // namespace confab::datagram
