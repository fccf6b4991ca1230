// Bbr: a model-based congestion controller after BBR v1
// (draft-cardwell-iccrg-bbr-congestion-control-00): it estimates the path's
// bottleneck bandwidth (the largest delivery rate over the last 10 round
// trips) and its propagation delay (the smallest RTT over 10 s), paces at
// gain x bandwidth and keeps about two bandwidth-delay products in flight.
//
//   Startup   pacing and cwnd gain 2/ln 2, until the bandwidth stops growing
//             by 25% for three rounds
//   Drain     pacing gain ln 2 / 2 until the queue Startup built is gone
//   ProbeBW   pacing gain cycles 1.25, 0.75, 1 x 6, one phase per min RTT
//   ProbeRTT  every 10 s without a new minimum: 4 packets in flight for
//             200 ms, so competing BBR flows see the empty-queue RTT too
//
// Why: random loss is not congestion. CUBIC (and Reno-friendly TCP) fall to
// the Mathis rate, about 3 Mbit/s at 1% loss and 40 ms RTT, while BBR holds
// the bottleneck rate; Linux's TCP on our machines runs BBR, so this is the
// fair neighbour to it. Like BBR v1 it does not react to loss (beyond
// retransmitting), except that Startup ends on heavy loss as in BBR v2
// (CheckStartupLoss); shallow-buffer fairness against CUBIC is its known
// weak spot (BBR v2's inflight bound by loss rate in ProbeBW is not here).
//
// Sans-I/O: times in microseconds. Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/datagram/congestion_controller.h"
#include "common/datagram/pacer.h"

namespace confab::datagram {

class Bbr final : public CongestionController {
 public:
  enum class Mode { kStartup, kDrain, kProbeBw, kProbeRtt };

  static constexpr double kHighGain = 2.885;  // 2 / ln 2
  static constexpr size_t kBwWindowRounds = 10;
  static constexpr uint64_t kMinRttWindowUs = 10'000'000;
  static constexpr uint64_t kProbeRttUs = 200'000;
  static constexpr size_t kMinWindowPackets = 4;
  // Outside ProbeRTT the window never falls below this much time at the
  // bottleneck rate estimate (SetCwnd says why).
  static constexpr uint64_t kMinWindowUs = 1000;
  static constexpr size_t kInitialWindowPackets = 10;
  // Startup ends after a round with at least this many losses, that are
  // more than this share of the round's packets.
  static constexpr uint64_t kStartupLossEvents = 8;
  static constexpr double kStartupLossRate = 0.05;

  explicit Bbr(size_t max_datagram_bytes);

  void OnPacketSent(uint64_t now_us, size_t bytes, uint64_t smoothed_rtt_us) override;
  void OnAcked(uint64_t now_us, uint64_t sent_us, size_t bytes, uint64_t smoothed_rtt_us,
               bool cwnd_limited) override;
  void OnAckProcessed(uint64_t now_us, const RateSample& sample, uint64_t delivered,
                      size_t bytes_in_flight) override;
  void OnLost(uint64_t now_us, uint64_t sent_us) override;

  size_t cwnd() const override { return cwnd_; }
  uint64_t NextSendTimeUs() const override { return pacer_.NextSendTimeUs(); }
  uint64_t congestion_events() const override { return losses_; }
  std::string_view name() const override { return "bbr"; }

  Mode mode() const { return mode_; }
  double bottleneck_bytes_per_us() const { return BtlBw(); }
  uint64_t min_rtt_us() const { return min_rtt_us_; }
  double pacing_gain() const { return pacing_gain_; }
  uint64_t startup_loss_exits() const { return startup_loss_exits_; }

 private:
  double BtlBw() const;
  size_t Bdp(double gain) const;
  void UpdateRound(const RateSample& sample, uint64_t delivered);
  void UpdateBw(const RateSample& sample);
  void UpdateMinRtt(uint64_t now_us, const RateSample& sample);
  void CheckStartupLoss();
  void CheckFullPipe(const RateSample& sample);
  void AdvanceMode(uint64_t now_us, size_t bytes_in_flight, uint64_t delivered);
  void EnterProbeBw(uint64_t now_us);
  void SetCwnd(uint64_t delivered);
  // The pacing rate (gain x bandwidth, or the initial window over the RTT
  // before a sample), from `now_us` on.
  void UpdatePacing(uint64_t now_us);

  const size_t mds_;
  Mode mode_ = Mode::kStartup;
  size_t cwnd_;
  double pacing_gain_ = kHighGain;
  double cwnd_gain_ = kHighGain;
  Pacer pacer_;
  uint64_t smoothed_rtt_us_ = 0;

  // Rounds: a round ends when a packet sent after it began is acknowledged.
  uint64_t round_count_ = 0;
  uint64_t next_round_delivered_ = 0;
  bool round_start_ = false;
  // Max filter: the largest sample of each of the last kBwWindowRounds rounds.
  std::array<double, kBwWindowRounds> bw_by_round_{};
  std::array<uint64_t, kBwWindowRounds> bw_round_{};
  uint64_t min_rtt_us_ = UINT64_MAX;
  uint64_t min_rtt_stamp_us_ = 0;
  bool min_rtt_expired_ = false;
  size_t prior_cwnd_ = 0;

  double full_bw_ = 0;
  int full_bw_rounds_ = 0;
  bool filled_pipe_ = false;
  size_t cycle_index_ = 0;
  uint64_t cycle_stamp_us_ = 0;
  uint64_t probe_rtt_done_us_ = 0;
  bool probe_rtt_round_done_ = false;
  size_t acked_since_ack_ = 0;
  uint64_t losses_ = 0;
  uint64_t round_lost_packets_ = 0;  // in the current round
  uint64_t round_acked_packets_ = 0;
  uint64_t startup_loss_exits_ = 0;
};

}  // namespace confab::datagram
