// The UDP session handshake: Noise_IK_25519_ChaChaPoly_BLAKE2b with the
// prologue "confab/1 udp" (the purpose: a peer-to-peer session carrying the
// chat and file streams), in WireGuard's message layout (little-endian):
//
//   initiation  0x01 | sender index (4) | Noise message 1 | mac1 | mac2
//   response    0x02 | sender index (4) | receiver index (4) | Noise message 2 | mac1 | mac2
//   cookie      0x03 | ... (cookie.h)
//
// Message 1's encrypted payload starts with an 8-byte timestamp (a
// microsecond clock the initiator never lets go backwards); the responder
// accepts from each static key only initiations newer than the last one it
// accepted, so a captured initiation cannot be replayed to knock the real
// session over (WireGuard's TAI64N rule). Indexes, chosen at random by each
// side, name the session in every later packet (packet_protector.h).
//
// The initiator resends a fresh initiation (new ephemeral, new timestamp)
// every kHandshakeRetryUs until a response arrives or kHandshakeGiveUpUs
// pass; the owner's timer drives that. The responder may not send data
// until the initiator's first data packet arrives (key confirmation: only
// the real initiator can produce it); the initiator sends one at once.
//
// Payloads are opaque (the owner puts certificates there and checks them,
// as over TCP). Sans-I/O; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/noise.h"
#include "common/datagram/cookie.h"
#include "common/datagram/packet_protector.h"

namespace confab::datagram {

inline constexpr uint8_t kInitiationType = 0x01;
inline constexpr uint8_t kResponseType = 0x02;
// Keeps an initiation within one 1200-byte datagram.
inline constexpr size_t kMaxHandshakePayloadBytes = 1024;
inline constexpr uint64_t kHandshakeRetryUs = 1'000'000;
inline constexpr uint64_t kHandshakeGiveUpUs = 30'000'000;
inline constexpr size_t kMaxRememberedInitiators = 4096;

// The prologue both sides bind into the handshake hash.
ByteView UdpPrologue();

class HandshakeInitiator {
 public:
  // InvalidArgument for a payload over kMaxHandshakePayloadBytes.
  [[nodiscard]] static Result<std::unique_ptr<HandshakeInitiator>> Create(
      const crypto::noise::KeyPair& local_static, const crypto::noise::PublicKey& remote_static,
      Bytes payload);

  // A fresh initiation from `local_index`, replacing any earlier attempt
  // (whose response will then be ignored). `clock_us` feeds the timestamp.
  [[nodiscard]] Result<Bytes> MakeInitiation(uint32_t local_index, uint64_t clock_us,
                                             uint64_t now_us);

  struct Established {
    std::unique_ptr<PacketProtector> protector;
    Bytes payload;  // the responder's
  };
  // Completes the handshake. Corruption for a malformed response or one for
  // another attempt; AuthFailed when its MAC or Noise tag fails;
  // FailedPrecondition when no initiation is outstanding.
  [[nodiscard]] Result<Established> OnResponse(ByteView response, uint64_t now_us);
  // A cookie reply to our last initiation: the next one carries mac2.
  [[nodiscard]] Status OnCookieReply(ByteView reply, uint64_t now_us) {
    return cookies_.OnCookieReply(reply, now_us);
  }

 private:
  HandshakeInitiator(const crypto::noise::KeyPair& local_static,
                     const crypto::noise::PublicKey& remote_static, Bytes payload);

  crypto::noise::KeyPair local_static_;
  crypto::noise::PublicKey remote_static_;
  Bytes payload_;
  CookieMaker cookies_;
  CookieChecker response_macs_;
  std::unique_ptr<crypto::noise::HandshakeState> state_;
  uint32_t local_index_ = 0;
  uint64_t last_timestamp_ = 0;
};

class HandshakeResponder {
 public:
  explicit HandshakeResponder(const crypto::noise::KeyPair& local_static);

  // An initiation read and authenticated, waiting for the owner's decision.
  struct Pending {
    crypto::noise::PublicKey remote_static;
    Bytes payload;
    uint32_t remote_index = 0;
    uint64_t timestamp = 0;
    std::unique_ptr<crypto::noise::HandshakeState> state;
  };
  struct Outcome {
    std::optional<Pending> pending;  // an initiation to accept or refuse, or
    Bytes cookie_reply;              // a cookie reply to send back
  };
  // `source` is the sender's address as bytes (for cookies); `under_load`
  // the owner's judgement (e.g. handshakes per second over a limit).
  // AuthFailed for a bad mac1 or Noise tag (drop silently); Corruption for
  // a malformed message; Unavailable for a replayed (not newer) timestamp.
  [[nodiscard]] Result<Outcome> OnInitiation(ByteView initiation, ByteView source, bool under_load,
                                             uint64_t now_us);

  struct Accepted {
    Bytes response;
    std::unique_ptr<PacketProtector> protector;
  };
  // Answers an initiation the owner accepted, with our `payload`, as
  // session `local_index`. Records its timestamp. Errors as WriteMessage.
  [[nodiscard]] Result<Accepted> Accept(Pending pending, ByteView payload, uint32_t local_index,
                                        uint64_t now_us);

 private:
  crypto::noise::KeyPair local_static_;
  CookieChecker cookies_;
  std::map<crypto::noise::PublicKey, uint64_t> last_timestamp_;
};

}  // namespace confab::datagram
