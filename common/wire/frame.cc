#include "common/wire/frame.h"

#include <algorithm>
#include <string>

namespace confab::wire {

Status AppendFrame(ByteView payload, Bytes* out, size_t max_payload_bytes) {
  const size_t limit = std::min(max_payload_bytes, kMaxFramePayloadBytes);
  if (payload.empty())
    return Status::InvalidArgument("refusing to encode a zero-length frame");
  if (payload.size() > limit) {
    return Status::InvalidArgument("frame of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " + std::to_string(limit));
  }
  out->reserve(out->size() + kFrameHeaderBytes + payload.size());
  out->push_back(static_cast<uint8_t>(payload.size() >> 8));
  out->push_back(static_cast<uint8_t>(payload.size() & 0xff));
  out->insert(out->end(), payload.begin(), payload.end());
  return Status::Ok();
}

Result<Bytes> EncodeFrame(ByteView payload, size_t max_payload_bytes) {
  Bytes out;
  CONFAB_RETURN_IF_ERROR(AppendFrame(payload, &out, max_payload_bytes));
  return out;
}

}  // namespace confab::wire
