#include "common/datagram/cubic.h"

#include <algorithm>
#include <cmath>

namespace confab::datagram {

Cubic::Cubic(size_t max_datagram_bytes)
    : mds_(max_datagram_bytes), cwnd_(kInitialWindowPackets * max_datagram_bytes) {}

double Cubic::WCubic(double t_seconds) const {
  const double d = t_seconds - k_;
  return kC * d * d * d + w_max_;  // RFC 9438 eq. 1
}

void Cubic::OnAcked(uint64_t now_us, uint64_t sent_us, size_t bytes, uint64_t rtt_us,
                    bool cwnd_limited) {
  Grow(now_us, sent_us, bytes, rtt_us, cwnd_limited);
  // A fresh RTT sample or a grown window takes effect on the wait already
  // begun (Pacer), not only from the next packet on.
  UpdatePacing(now_us, rtt_us);
}

void Cubic::Grow(uint64_t now_us, uint64_t sent_us, size_t bytes, uint64_t rtt_us,
                 bool cwnd_limited) {
  if (InRecovery(sent_us))
    return;  // RFC 9002 7.3.2: no growth for packets sent before recovery
  if (!cwnd_limited)
    return;  // RFC 9438 4.8
  if (in_slow_start()) {
    cwnd_ += bytes;  // RFC 9002 7.3.1
    return;
  }
  const double segments = static_cast<double>(cwnd_) / static_cast<double>(mds_);
  if (!epoch_valid_) {
    // Congestion avoidance without a loss epoch yet (ssthresh reached some
    // other way): start one at the current window (RFC 9438 4.2, 4.8).
    epoch_valid_ = true;
    epoch_start_us_ = now_us;
    w_max_ = segments;
    k_ = 0;
    w_est_ = segments;
    cwnd_prior_ = segments;
  }
  const double t = static_cast<double>(now_us - epoch_start_us_) / 1e6;
  const double rtt = static_cast<double>(rtt_us) / 1e6;
  const double acked_segments = static_cast<double>(bytes) / static_cast<double>(mds_);
  // RFC 9438 4.3: the Reno-friendly estimate, alpha_cubic until it reaches
  // the window before the last reduction, then 1.
  const double alpha = w_est_ >= cwnd_prior_ ? 1.0 : 3.0 * (1.0 - kBeta) / (1.0 + kBeta);
  w_est_ += alpha * acked_segments / segments;
  double next = segments;
  if (WCubic(t) < w_est_) {
    next = w_est_;  // Reno-friendly region
  } else {
    // RFC 9438 4.4/4.5: grow towards W_cubic(t + RTT), clamped to 1.5 cwnd.
    const double target = std::clamp(WCubic(t + rtt), segments, 1.5 * segments);
    next = segments + (target - segments) / segments * acked_segments;
  }
  const double grown = next * static_cast<double>(mds_) + acked_fraction_;
  const double whole = std::floor(grown);
  acked_fraction_ = grown - whole;
  cwnd_ = std::max(cwnd_, static_cast<size_t>(whole));
}

void Cubic::OnLost(uint64_t now_us, uint64_t sent_us) {
  if (InRecovery(sent_us))
    return;  // one reduction per round of losses
  ++congestion_events_;
  has_recovery_ = true;
  recovery_start_us_ = now_us;
  const double segments = static_cast<double>(cwnd_) / static_cast<double>(mds_);
  cwnd_prior_ = segments;
  // RFC 9438 4.7 fast convergence: a window that shrank since the last
  // reduction releases bandwidth to newer flows.
  w_max_ = (epoch_valid_ && segments < w_max_) ? segments * (1.0 + kBeta) / 2.0 : segments;
  ssthresh_ = std::max(static_cast<size_t>(std::llround(static_cast<double>(cwnd_) * kBeta)),
                       kMinimumWindowPackets * mds_);
  cwnd_ = ssthresh_;
  const double reduced = static_cast<double>(cwnd_) / static_cast<double>(mds_);
  k_ = std::cbrt(std::max(0.0, w_max_ - reduced) / kC);  // RFC 9438 eq. 2
  epoch_valid_ = true;
  epoch_start_us_ = now_us;
  w_est_ = reduced;
  acked_fraction_ = 0;
}

void Cubic::UpdatePacing(uint64_t now_us, uint64_t rtt_us) {
  // RFC 9002 7.7: rate = N * cwnd / smoothed_rtt, N = 1.25 (2 in slow start
  // so that the window can double per round trip).
  const double n = in_slow_start() ? 2.0 : 1.25;
  const double rate =
      n * static_cast<double>(cwnd_) / static_cast<double>(std::max<uint64_t>(rtt_us, 1));
  const size_t burst =
      std::max(mds_ * (kPacingBurstPackets - 1),
               static_cast<size_t>(rate * static_cast<double>(kPacingGranularityUs)));
  pacer_.SetRate(now_us, rate, burst);
}

void Cubic::OnPacketSent(uint64_t now_us, size_t bytes, uint64_t rtt_us) {
  UpdatePacing(now_us, rtt_us);
  pacer_.OnSent(now_us, bytes);
}

}  // namespace confab::datagram
