// Cubic: the CUBIC congestion controller of RFC 9438 over byte counts, with
// QUIC's recovery rule (RFC 9002 7.3.2: one reduction per round of losses,
// i.e. losses of packets sent before the current recovery started do not
// reduce again) and a pacer (RFC 9002 7.7) that spreads a window over an RTT.
//
// Why keep CUBIC beside BBR (bbr.h, the default): it is what Linux TCP runs
// by default, so on a shared bottleneck it takes a comparable share (RFC
// 9438's TCP-friendly region makes it at least as fair as Reno), and its
// behaviour is specified closely enough to check line by line. Its price is
// random loss: at 1% it falls to the Mathis rate (3 Mbit/s at 40 ms RTT).
//
// Sans-I/O: times are passed in, in microseconds. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/datagram/congestion_controller.h"
#include "common/datagram/pacer.h"

namespace confab::datagram {

class Cubic final : public CongestionController {
 public:
  static constexpr double kC = 0.4;     // RFC 9438 4.1 (segments / s^3)
  static constexpr double kBeta = 0.7;  // RFC 9438 4.6 multiplicative decrease
  static constexpr size_t kInitialWindowPackets = 10;
  static constexpr size_t kMinimumWindowPackets = 2;

  explicit Cubic(size_t max_datagram_bytes);

  // Bytes acknowledged in a packet sent at `sent_us`. `rtt_us` is the
  // smoothed RTT; `cwnd_limited` is whether the sender was using the window
  // (RFC 9438 4.8: no growth while application-limited).
  void OnAcked(uint64_t now_us, uint64_t sent_us, size_t bytes, uint64_t rtt_us,
               bool cwnd_limited) override;
  // A packet sent at `sent_us` was declared lost (RFC 9438 4.6 and 4.7).
  void OnLost(uint64_t now_us, uint64_t sent_us) override;

  size_t cwnd() const override { return cwnd_; }
  size_t ssthresh() const { return ssthresh_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  bool InRecovery(uint64_t sent_us) const { return has_recovery_ && sent_us <= recovery_start_us_; }
  uint64_t congestion_events() const override { return congestion_events_; }
  std::string_view name() const override { return "cubic"; }

  // Pacing at N * cwnd / smoothed RTT (Pacer); a burst of up to
  // kPacingBurstPackets may leave at once after idle.
  uint64_t NextSendTimeUs() const override { return pacer_.NextSendTimeUs(); }
  void OnPacketSent(uint64_t now_us, size_t bytes, uint64_t rtt_us) override;
  static constexpr size_t kPacingBurstPackets = 10;
  // The pacer never holds back more than this much sending time, so a
  // driver whose timer has millisecond resolution (libuv) can still pace
  // fast paths by sending each millisecond's packets together.
  static constexpr uint64_t kPacingGranularityUs = 1000;

 private:
  double WCubic(double t_seconds) const;
  // OnAcked's window growth (RFC 9002 7.3, RFC 9438 4).
  void Grow(uint64_t now_us, uint64_t sent_us, size_t bytes, uint64_t rtt_us, bool cwnd_limited);
  // The pacing rate for the current window and `rtt_us`, from `now_us` on.
  void UpdatePacing(uint64_t now_us, uint64_t rtt_us);

  const size_t mds_;  // max datagram size, the "segment" of RFC 9438
  size_t cwnd_;
  size_t ssthresh_ = SIZE_MAX;
  bool has_recovery_ = false;
  uint64_t recovery_start_us_ = 0;
  uint64_t congestion_events_ = 0;
  // Congestion-avoidance epoch (RFC 9438 4.2): in segments and seconds.
  bool epoch_valid_ = false;
  uint64_t epoch_start_us_ = 0;
  double w_max_ = 0;
  double k_ = 0;
  double w_est_ = 0;
  double cwnd_prior_ = 0;
  double acked_fraction_ = 0;  // sub-byte growth carried between ACKs
  Pacer pacer_;
};

}  // namespace confab::datagram
