// Protobuf messages to and from Bytes, the one way every layer does it.
#pragma once

#include <google/protobuf/message_lite.h>

#include "common/base/bytes.h"

namespace confab {

// The message's wire form. Serializing a message cannot fail once it is
// built (all our fields are optional in proto3).
inline Bytes SerializeToBytes(const google::protobuf::MessageLite& message) {
  Bytes out(message.ByteSizeLong());
  message.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

// Parses `bytes` into `*message`; false on malformed input.
[[nodiscard]] inline bool ParseFromBytes(ByteView bytes, google::protobuf::MessageLite* message) {
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace confab
