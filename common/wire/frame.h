// Frames on TCP (DESIGN.md, "Protocols"): a 2-byte big-endian payload length,
// then the payload. Every confab link carries its Noise messages this way, so
// no frame can exceed 65535 bytes. This module is sans-I/O: bytes in, bytes
// and a Status out (STYLE.md A1).
//
// Zero-length frames are invalid in both directions. Every frame carries one
// Noise message, and the smallest of those (a transport message with an empty
// plaintext) is a 16-byte AEAD tag, so a zero length can only be a bug or a
// peer probing us. Refusing it also means a peer cannot make us spin on
// 2-byte frames that carry nothing, and a `0` read from a socket can never be
// mistaken for a frame (STYLE.md Part C #9).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/base/bytes.h"
#include "common/base/status.h"

namespace confab::wire {

inline constexpr size_t kFrameHeaderBytes = 2;
// The largest payload the 2-byte header can describe, and the default limit.
inline constexpr size_t kMaxFramePayloadBytes = 65535;

// Returns header + payload. InvalidArgument when `payload` is empty or longer
// than `max_payload_bytes` (itself clamped to kMaxFramePayloadBytes): an
// outbound frame that is too big is the caller's bug, never the peer's.
Result<Bytes> EncodeFrame(ByteView payload, size_t max_payload_bytes = kMaxFramePayloadBytes);

// Appends header + payload to `*out`, so that several frames can go to the
// socket in one write. Same errors as EncodeFrame; on error `*out` is unchanged.
Status AppendFrame(ByteView payload, Bytes* out, size_t max_payload_bytes = kMaxFramePayloadBytes);

}  // namespace confab::wire
