// PacketProtector: seals and opens the data packets of one UDP session with
// the two CipherStates from a Noise handshake's Split(), as WireGuard's
// transport data message does.
//
// A data packet on the wire (all integers little-endian, as WireGuard's):
//
//   0      1               5                      13
//   +------+---------------+----------------------+--------------------+
//   | 0x04 | receiver (4)  | counter (8)          | AEAD(payload) + 16 |
//   +------+---------------+----------------------+--------------------+
//
// `receiver` is the session index the receiving side chose in the handshake,
// so the receiver finds the session by index, not by source address (a NAT
// may rebind the port mid-session). `counter` is the AEAD nonce, sent in
// clear because UDP loses and reorders; the 13-byte header is the AEAD's
// associated data, so it cannot be altered. The reliable layer above uses
// the counter as its packet number, so every packet, retransmissions
// included, has a counter of its own and nonces are never reused.
//
// Limits (WireGuard's): a sender should start a new handshake after
// kRekeyAfterMessages packets or kRekeyAfterUs, and Seal refuses at
// kRejectAfterMessages; Open refuses counters there too (ReplayWindow) and
// the owner drops the keys after kRejectAfterUs (udp::Endpoint does both;
// keypairs.h holds a session's keys across rekeys).
//
// Sans-I/O; no clock (times are passed in); not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/crypto/noise.h"
#include "common/datagram/replay_window.h"

namespace confab::datagram {

inline constexpr uint8_t kDataPacketType = 0x04;
inline constexpr size_t kDataHeaderBytes = 13;
inline constexpr size_t kDataTagBytes = 16;
inline constexpr size_t kDataOverheadBytes = kDataHeaderBytes + kDataTagBytes;
inline constexpr uint64_t kRekeyAfterMessages = 1ULL << 60;
inline constexpr uint64_t kRekeyAfterUs = 120ULL * 1000 * 1000;
inline constexpr uint64_t kRejectAfterUs = 180ULL * 1000 * 1000;

// The receiver index of a data packet, for finding its session. Corruption
// when the datagram is too short or not a data packet.
[[nodiscard]] Result<uint32_t> PeekReceiverIndex(ByteView datagram);

class PacketProtector {
 public:
  // `send` and `receive` are the handshake's transport ciphers for this side.
  // `remote_index` goes into every packet we seal; `local_index` is what the
  // peer puts into the packets it sends us. `created_us` starts the key's age.
  PacketProtector(crypto::noise::CipherState send, crypto::noise::CipherState receive,
                  uint32_t local_index, uint32_t remote_index, uint64_t created_us);

  // Writes the packet with `counter` and `payload` into `out`, which must hold
  // payload.size() + kDataOverheadBytes bytes; returns the bytes written.
  // Counters must strictly increase from one call to the next.
  // InvalidArgument for a small `out` or a counter not above the last one;
  // ResourceExhausted at kRejectAfterMessages.
  [[nodiscard]] Result<size_t> Seal(uint64_t counter, ByteView payload, std::span<uint8_t> out);

  struct Opened {
    uint64_t counter;
    ByteView payload;  // points into the datagram passed to Open
  };
  // Authenticates and decrypts `datagram` in place. Corruption when it is
  // malformed or for another session index; AuthFailed when the tag does not
  // verify; Unavailable (a replay or a packet older than the window) when
  // the counter was seen or is too old. On error the window does not move.
  [[nodiscard]] Result<Opened> Open(std::span<uint8_t> datagram);

  // True once this key should be replaced by a new handshake.
  bool ShouldRekey(uint64_t now_us) const;
  // True once this key must no longer be used in either direction.
  bool Expired(uint64_t now_us) const;

  uint32_t local_index() const { return local_index_; }
  uint64_t created_us() const { return created_us_; }
  uint32_t remote_index() const { return remote_index_; }
  // The counter the next Seal must exceed, plus one (0 before any Seal).
  uint64_t next_send_counter() const { return next_send_counter_; }

 private:
  crypto::noise::CipherState send_;
  crypto::noise::CipherState receive_;
  uint32_t local_index_;
  uint32_t remote_index_;
  uint64_t created_us_;
  uint64_t next_send_counter_ = 0;
  ReplayWindow replay_;
};

}  // namespace confab::datagram
