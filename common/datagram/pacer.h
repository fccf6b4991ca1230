// Pacer: spaces a congestion controller's packets at its pacing rate, with a
// bounded burst (RFC 9002 7.7), shared by CUBIC and BBR. Sans I/O.
//
// A token bucket that may go into debt: a packet leaves while the balance is
// not negative and takes its size from it; the balance refills at the rate,
// up to the burst. The time a packet owes is paid at the rate in force while
// it is paid, not fixed when the packet left, so a rate that rises (the first
// RTT sample replacing RFC 9002's 333 ms guess, which on a LAN is a
// thousand times too long) shortens a wait already begun instead of keeping
// the sender idle for the rest of it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace confab::datagram {

class Pacer {
 public:
  // From `now_us` on, `bytes_per_us` (> 0) refilling up to `burst_bytes`.
  // What accrued before `now_us` accrued at the previous rate.
  void SetRate(uint64_t now_us, double bytes_per_us, size_t burst_bytes) {
    Refill(now_us);
    if (!started_) {
      started_ = true;
      balance_ = static_cast<double>(burst_bytes);  // a fresh sender may burst
    }
    rate_ = std::max(bytes_per_us, 1e-9);
    burst_ = static_cast<double>(burst_bytes);
    balance_ = std::min(balance_, burst_);
  }

  // A packet of `bytes` left at `now_us`.
  void OnSent(uint64_t now_us, size_t bytes) {
    Refill(now_us);
    balance_ -= static_cast<double>(bytes);
  }

  // When the next packet may leave: at once (any time up to now) while the
  // balance is not negative, else when the debt is repaid at today's rate.
  uint64_t NextSendTimeUs() const {
    if (balance_ >= 0 || rate_ == 0)
      return updated_us_;
    return updated_us_ + static_cast<uint64_t>(std::ceil(-balance_ / rate_));
  }

 private:
  void Refill(uint64_t now_us) {
    if (now_us > updated_us_) {
      if (rate_ > 0)
        balance_ = std::min(burst_, balance_ + static_cast<double>(now_us - updated_us_) * rate_);
      updated_us_ = now_us;
    }
  }

  bool started_ = false;
  double rate_ = 0;     // bytes per microsecond
  double burst_ = 0;    // bytes
  double balance_ = 0;  // bytes; negative: owed
  uint64_t updated_us_ = 0;
};

}  // namespace confab::datagram
