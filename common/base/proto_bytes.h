// Protobuf messages to and from Bytes, the one way every layer does it.
#pragma once

#include <google/protobuf/message_lite.h>

#include "common/base/bytes.h"

namespace confab {

// Appends the message's wire form to `*out`, after what it holds already
// (a type byte, a length prefix). Serializing a message cannot fail once it
// is built (all our fields are optional in proto3).
inline void AppendSerialized(const google::protobuf::MessageLite& message, Bytes* out) {
  const size_t at = out->size();
  out->resize(at + message.ByteSizeLong());
  message.SerializeToArray(out->data() + at, static_cast<int>(out->size() - at));
}

// The message's wire form.
inline Bytes SerializeToBytes(const google::protobuf::MessageLite& message) {
  Bytes out;
  AppendSerialized(message, &out);
  return out;
}

// Parses `bytes` into `*message`; false on malformed input.
[[nodiscard]] inline bool ParseFromBytes(ByteView bytes, google::protobuf::MessageLite* message) {
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace confab
