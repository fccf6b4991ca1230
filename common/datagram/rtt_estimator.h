// RttEstimator: smoothed RTT and its variation exactly as RFC 9002 section 5
// computes them (min_rtt, smoothed_rtt, rttvar; ack delay subtracted only
// when it does not push the sample below min_rtt). Times in microseconds.
#pragma once

#include <algorithm>
#include <cstdint>

namespace confab::datagram {

class RttEstimator {
 public:
  // RFC 9002 6.2.2: kInitialRtt = 333 ms before any sample.
  static constexpr uint64_t kInitialRttUs = 333'000;
  static constexpr uint64_t kGranularityUs = 1'000;

  // One sample: `latest_us` from sending the largest newly acknowledged
  // packet to its ACK, `ack_delay_us` as the peer reported it, capped by
  // `max_ack_delay_us`.
  void OnSample(uint64_t latest_us, uint64_t ack_delay_us, uint64_t max_ack_delay_us) {
    latest_ = latest_us;
    if (!has_sample_) {
      has_sample_ = true;
      min_ = latest_us;
      smoothed_ = latest_us;
      var_ = latest_us / 2;
      return;
    }
    min_ = std::min(min_, latest_us);
    ack_delay_us = std::min(ack_delay_us, max_ack_delay_us);
    uint64_t adjusted = latest_us;
    if (latest_us >= min_ + ack_delay_us)
      adjusted = latest_us - ack_delay_us;
    const uint64_t diff = smoothed_ > adjusted ? smoothed_ - adjusted : adjusted - smoothed_;
    var_ = (3 * var_ + diff) / 4;
    smoothed_ = (7 * smoothed_ + adjusted) / 8;
  }

  bool has_sample() const { return has_sample_; }
  uint64_t smoothed_us() const { return has_sample_ ? smoothed_ : kInitialRttUs; }
  uint64_t var_us() const { return has_sample_ ? var_ : kInitialRttUs / 2; }
  uint64_t min_us() const { return has_sample_ ? min_ : kInitialRttUs; }
  uint64_t latest_us() const { return has_sample_ ? latest_ : kInitialRttUs; }
  // RFC 9002 6.2.1 without the backoff: smoothed + max(4 * var, granularity)
  // + max_ack_delay.
  uint64_t PtoUs(uint64_t max_ack_delay_us) const {
    return smoothed_us() + std::max(4 * var_us(), kGranularityUs) + max_ack_delay_us;
  }

 private:
  bool has_sample_ = false;
  uint64_t latest_ = 0;
  uint64_t min_ = 0;
  uint64_t smoothed_ = 0;
  uint64_t var_ = 0;
};

}  // namespace confab::datagram
