#include "peer/control/control_frame.h"

#include <utility>

#include "common/base/proto_bytes.h"

namespace confab::peer {
namespace {

uint32_t ReadLength(const Bytes& buffer) {
  return (uint32_t{buffer[0]} << 24) | (uint32_t{buffer[1]} << 16) | (uint32_t{buffer[2]} << 8) |
         uint32_t{buffer[3]};
}

}  // namespace

Result<Bytes> EncodeControlFrame(const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  if (size > kMaxControlMessageBytes)
    return Status::InvalidArgument("control message too large");
  static_assert(kControlLengthBytes == 4, "a 4-byte big-endian length");
  Bytes out = {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
               static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
  AppendSerialized(message, &out);
  return out;
}

Status ControlFrameReader::Feed(ByteView bytes) {
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  if (buffer_.size() >= kControlLengthBytes && ReadLength(buffer_) > kMaxControlMessageBytes)
    return Status::ResourceExhausted("control message over 1 MiB");
  return Status::Ok();
}

std::optional<Bytes> ControlFrameReader::Take() {
  if (buffer_.size() < kControlLengthBytes)
    return std::nullopt;
  const size_t length = ReadLength(buffer_);
  if (length > kMaxControlMessageBytes || buffer_.size() < kControlLengthBytes + length)
    return std::nullopt;
  Bytes message(buffer_.begin() + kControlLengthBytes,
                buffer_.begin() + static_cast<std::ptrdiff_t>(kControlLengthBytes + length));
  buffer_.erase(buffer_.begin(),
                buffer_.begin() + static_cast<std::ptrdiff_t>(kControlLengthBytes + length));
  return message;
}

}  // namespace confab::peer
