// ReplayWindow: which 64-bit counters of one receiving key have been seen,
// as WireGuard's counter_validate (itself RFC 6479's bitmap): a ring of
// kReplayWindowBits bits, of which one 64-bit word is redundant so that
// sliding forward clears whole words. Counters more than kReplayWindowSize
// below the highest seen are refused as too old.
//
// Use: Check(n) before the AEAD (cheap rejection of replays and stale
// packets), Accept(n) only after the AEAD verified, so forged packets never
// move the window. Sans-I/O; not thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace confab::datagram {

inline constexpr uint64_t kReplayWindowBits = 2048;
inline constexpr uint64_t kReplayWindowSize = kReplayWindowBits - 64;
// The largest counter a key ever accepts (WireGuard's REJECT_AFTER_MESSAGES);
// a sender stops well before it (see packet_protector.h).
inline constexpr uint64_t kRejectAfterMessages = UINT64_MAX - (1ULL << 13);

class ReplayWindow {
 public:
  // True when `counter` is not above the limit, not too old and not yet seen.
  bool Check(uint64_t counter) const;
  // Check(counter), and if it passes, records it. Returns what Check returned.
  bool Accept(uint64_t counter);
  // One above the highest counter accepted; 0 when none.
  uint64_t top() const { return top_; }

 private:
  static constexpr uint64_t kWords = kReplayWindowBits / 64;
  // Counters are stored shifted by one, as WireGuard does, so that top_ == 0
  // means "nothing accepted" and counter 0 is still usable.
  uint64_t top_ = 0;
  std::array<uint64_t, kWords> bits_{};
};

}  // namespace confab::datagram
