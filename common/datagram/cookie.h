// Cookies against spoofed handshake floods, as WireGuard's cookie.c (the
// WireGuard paper, section 5.4.4), with BLAKE2b in place of BLAKE2s.
//
// Every handshake message ends in two 16-byte MACs:
//   mac1 = MAC(HASH("mac1----" || receiver's static public key), msg before mac1)
//   mac2 = MAC(cookie, msg before mac2), or zeros without a fresh cookie
// mac1 proves the sender knows whom it is talking to, so a responder drops
// random junk without any Diffie-Hellman. Under load a responder also wants
// mac2: without it, it answers with a cookie reply instead of a handshake,
//   cookie = MAC(secret rotated every 2 minutes, source IP || source port)
//   reply  = type 0x03 | receiver index (4) | nonce (24) |
//            XChaCha20Poly1305(HASH("cookie--" || responder static), nonce,
//                              cookie, ad = mac1 of the message answered)
// which only the holder of the source address can read and use, so a
// flood from spoofed addresses costs the responder one MAC per packet.
//
// Sans-I/O: times are passed in; randomness is libsodium's CSPRNG.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/crypto/noise_primitives.h"

namespace confab::datagram {

inline constexpr size_t kMacBytes = 16;
inline constexpr size_t kMacsBytes = 2 * kMacBytes;
inline constexpr uint8_t kCookieReplyType = 0x03;
inline constexpr size_t kCookieReplyBytes = 1 + 4 + 24 + kMacBytes + 16;
inline constexpr uint64_t kCookieRotateUs = 120'000'000;

using Mac = std::array<uint8_t, kMacBytes>;

// The responder's side: checks the MACs of arriving handshake messages and
// makes cookie replies.
class CookieChecker {
 public:
  explicit CookieChecker(const crypto::noise::PublicKey& our_static);

  enum class Verdict {
    kBadMac1,      // drop silently
    kValid,        // process (not under load)
    kValidCookie,  // process (mac2 proved the source address)
    kNeedCookie,   // under load and no valid mac2: answer with a cookie reply
  };
  // `message` is the whole handshake message, MACs last; `source` the
  // sender's address as bytes (IP then port).
  Verdict Check(ByteView message, ByteView source, bool under_load, uint64_t now_us);
  // The cookie reply to `message` (which passed mac1) from `source`, for the
  // sender's index `receiver_index`.
  Bytes MakeReply(uint32_t receiver_index, ByteView message, ByteView source, uint64_t now_us);

 private:
  Mac CookieFor(ByteView source, uint64_t now_us);

  SecretArray<32> mac1_key_;
  SecretArray<32> cookie_key_;
  SecretArray<32> secret_;
  uint64_t secret_born_us_ = 0;
  bool has_secret_ = false;
};

// The initiator's side (and the responder's, for its response): adds the
// MACs to outgoing messages and takes in cookie replies.
class CookieMaker {
 public:
  explicit CookieMaker(const crypto::noise::PublicKey& their_static);

  // Fills the last kMacsBytes of `message` (mac2 only with a fresh cookie)
  // and remembers mac1 to authenticate the reply it may draw.
  void AddMacs(std::span<uint8_t> message, uint64_t now_us);
  // Stores the cookie of a reply to our last message. Corruption for a
  // malformed reply; AuthFailed if it does not decrypt (forged, or not for
  // our last message).
  [[nodiscard]] Status OnCookieReply(ByteView reply, uint64_t now_us);
  bool has_fresh_cookie(uint64_t now_us) const;

 private:
  SecretArray<32> mac1_key_;
  SecretArray<32> cookie_key_;
  Mac last_mac1_{};
  bool sent_any_ = false;
  Mac cookie_{};
  uint64_t cookie_born_us_ = 0;
  bool has_cookie_ = false;
};

}  // namespace confab::datagram
