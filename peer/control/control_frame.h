// The control socket's framing (proto/control.proto): a 4-byte big-endian
// length, then one serialized protobuf message. Sans I/O: the node's
// ControlServer and the CLI's blocking client both use it.
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"

namespace confab::peer {

inline constexpr size_t kControlLengthBytes = 4;
inline constexpr size_t kMaxControlMessageBytes = 1 << 20;

// Length prefix and message. InvalidArgument above kMaxControlMessageBytes.
[[nodiscard]] Result<Bytes> EncodeControlFrame(const google::protobuf::MessageLite& message);

// Collects bytes until one whole frame has arrived.
class ControlFrameReader {
 public:
  // Appends `bytes`. ResourceExhausted once the announced length is over
  // kMaxControlMessageBytes; the reader is then useless.
  [[nodiscard]] Status Feed(ByteView bytes);
  // The first whole frame's message bytes, once; nullopt until complete.
  std::optional<Bytes> Take();

 private:
  Bytes buffer_;
};

}  // namespace confab::peer
