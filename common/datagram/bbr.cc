#include "common/datagram/bbr.h"

#include <algorithm>

namespace confab::datagram {
namespace {

// ProbeBW's pacing gains, one phase per min RTT (draft section 4.3.4.3).
constexpr std::array<double, 8> kCycle = {1.25, 0.75, 1, 1, 1, 1, 1, 1};
// The pacer holds back at most this much sending time: see Cubic.
constexpr uint64_t kPacingGranularityUs = 1000;

}  // namespace

Bbr::Bbr(size_t max_datagram_bytes)
    : mds_(max_datagram_bytes), cwnd_(kInitialWindowPackets * max_datagram_bytes) {}

double Bbr::BtlBw() const {
  double best = 0;
  for (size_t i = 0; i < kBwWindowRounds; ++i) {
    if (bw_round_[i] + kBwWindowRounds > round_count_)
      best = std::max(best, bw_by_round_[i]);
  }
  return best;
}

size_t Bbr::Bdp(double gain) const {
  const double bw = BtlBw();
  if (bw == 0 || min_rtt_us_ == UINT64_MAX)
    return static_cast<size_t>(gain * static_cast<double>(kInitialWindowPackets * mds_));
  return static_cast<size_t>(gain * bw * static_cast<double>(min_rtt_us_));
}

void Bbr::UpdatePacing(uint64_t now_us) {
  double rate = pacing_gain_ * BtlBw();
  if (rate == 0) {
    // No sample yet: the initial window over the RTT estimate, at Startup gain.
    rate = kHighGain * static_cast<double>(cwnd_) /
           static_cast<double>(std::max<uint64_t>(smoothed_rtt_us_, 1000));
  }
  const size_t burst =
      std::max(mds_ * 9, static_cast<size_t>(rate * static_cast<double>(kPacingGranularityUs)));
  pacer_.SetRate(now_us, rate, burst);
}

void Bbr::OnPacketSent(uint64_t now_us, size_t bytes, uint64_t smoothed_rtt_us) {
  smoothed_rtt_us_ = smoothed_rtt_us;
  UpdatePacing(now_us);
  pacer_.OnSent(now_us, bytes);
}

void Bbr::OnAcked(uint64_t, uint64_t, size_t bytes, uint64_t smoothed_rtt_us, bool) {
  smoothed_rtt_us_ = smoothed_rtt_us;
  acked_since_ack_ += bytes;
  ++round_acked_packets_;
}

void Bbr::OnLost(uint64_t, uint64_t) {
  ++losses_;  // outside Startup, loss is not a congestion signal (BBR v1)
  ++round_lost_packets_;
}

void Bbr::CheckStartupLoss() {
  if (!round_start_)
    return;
  // BBR v2's Startup exit on loss: Startup's 2.89x gain overflows a shallow
  // bottleneck queue long before three rounds show the bandwidth flat, and
  // every packet it loses then must be sent again. A round losing more than
  // kStartupLossRate (far above random loss on a sane path) says the pipe
  // is full.
  const uint64_t total = round_lost_packets_ + round_acked_packets_;
  if (mode_ == Mode::kStartup && !filled_pipe_ && round_lost_packets_ >= kStartupLossEvents &&
      static_cast<double>(round_lost_packets_) > kStartupLossRate * static_cast<double>(total)) {
    filled_pipe_ = true;
    ++startup_loss_exits_;
  }
  round_lost_packets_ = 0;
  round_acked_packets_ = 0;
}

void Bbr::OnAckProcessed(uint64_t now_us, const RateSample& sample, uint64_t delivered,
                         size_t bytes_in_flight) {
  UpdateRound(sample, delivered);
  UpdateBw(sample);
  UpdateMinRtt(now_us, sample);
  CheckStartupLoss();
  CheckFullPipe(sample);
  AdvanceMode(now_us, bytes_in_flight, delivered);
  SetCwnd(delivered);
  acked_since_ack_ = 0;
  // A new bandwidth estimate takes effect on the wait already begun.
  UpdatePacing(now_us);
}

void Bbr::UpdateRound(const RateSample& sample, uint64_t delivered) {
  round_start_ = false;
  if (sample.acked && sample.prior_delivered >= next_round_delivered_) {
    next_round_delivered_ = delivered;
    ++round_count_;
    round_start_ = true;
  }
}

void Bbr::UpdateBw(const RateSample& sample) {
  if (!sample.valid)
    return;
  // An application-limited sample only counts when it raises the estimate.
  if (sample.app_limited && sample.bytes_per_us < BtlBw())
    return;
  const size_t slot = round_count_ % kBwWindowRounds;
  if (bw_round_[slot] != round_count_) {
    bw_round_[slot] = round_count_;
    bw_by_round_[slot] = sample.bytes_per_us;
  } else {
    bw_by_round_[slot] = std::max(bw_by_round_[slot], sample.bytes_per_us);
  }
}

void Bbr::UpdateMinRtt(uint64_t now_us, const RateSample& sample) {
  min_rtt_expired_ = min_rtt_us_ != UINT64_MAX && now_us > min_rtt_stamp_us_ + kMinRttWindowUs;
  if (sample.acked && sample.rtt_us > 0 && (sample.rtt_us <= min_rtt_us_ || min_rtt_expired_)) {
    min_rtt_us_ = sample.rtt_us;
    min_rtt_stamp_us_ = now_us;
  }
}

void Bbr::CheckFullPipe(const RateSample& sample) {
  if (filled_pipe_ || !round_start_ || sample.app_limited)
    return;
  if (BtlBw() >= full_bw_ * 1.25) {
    full_bw_ = BtlBw();
    full_bw_rounds_ = 0;
    return;
  }
  if (++full_bw_rounds_ >= 3)
    filled_pipe_ = true;  // three rounds without 25% more: the pipe is full
}

void Bbr::EnterProbeBw(uint64_t now_us) {
  mode_ = Mode::kProbeBw;
  cwnd_gain_ = 2;
  // The draft picks a random phase other than the draining one; any fixed
  // cruising phase keeps tests deterministic.
  cycle_index_ = 2;
  pacing_gain_ = kCycle[cycle_index_];
  cycle_stamp_us_ = now_us;
}

void Bbr::AdvanceMode(uint64_t now_us, size_t bytes_in_flight, uint64_t delivered) {
  switch (mode_) {
    case Mode::kStartup:
      if (filled_pipe_) {
        mode_ = Mode::kDrain;
        pacing_gain_ = 1 / kHighGain;
        cwnd_gain_ = kHighGain;
      }
      break;
    case Mode::kDrain:
      break;
    case Mode::kProbeBw: {
      const bool full_length = now_us - cycle_stamp_us_ > min_rtt_us_;
      bool advance = full_length;
      if (pacing_gain_ < 1)
        advance = full_length || bytes_in_flight <= Bdp(1);
      if (advance) {
        cycle_index_ = (cycle_index_ + 1) % kCycle.size();
        pacing_gain_ = kCycle[cycle_index_];
        cycle_stamp_us_ = now_us;
      }
      break;
    }
    case Mode::kProbeRtt:
      break;
  }
  if (mode_ == Mode::kDrain && bytes_in_flight <= Bdp(1))
    EnterProbeBw(now_us);

  if (mode_ != Mode::kProbeRtt && min_rtt_expired_) {
    mode_ = Mode::kProbeRtt;
    pacing_gain_ = 1;
    cwnd_gain_ = 1;
    prior_cwnd_ = cwnd_;
    probe_rtt_done_us_ = 0;
  }
  if (mode_ == Mode::kProbeRtt) {
    if (probe_rtt_done_us_ == 0 && bytes_in_flight <= kMinWindowPackets * mds_) {
      probe_rtt_done_us_ = now_us + kProbeRttUs;
      probe_rtt_round_done_ = false;
      next_round_delivered_ = delivered;
    } else if (probe_rtt_done_us_ != 0) {
      if (round_start_)
        probe_rtt_round_done_ = true;
      if (probe_rtt_round_done_ && now_us >= probe_rtt_done_us_) {
        min_rtt_stamp_us_ = now_us;
        min_rtt_expired_ = false;
        cwnd_ = std::max(cwnd_, prior_cwnd_);
        if (filled_pipe_) {
          EnterProbeBw(now_us);
        } else {
          mode_ = Mode::kStartup;
          pacing_gain_ = cwnd_gain_ = kHighGain;
        }
      }
    }
  }
}

void Bbr::SetCwnd(uint64_t delivered) {
  if (mode_ == Mode::kProbeRtt) {
    cwnd_ = kMinWindowPackets * mds_;
    return;
  }
  // On a LAN or loopback the measured RTT (10-50 us) is far below what the
  // sender can act on: the loop's timer has millisecond resolution, the
  // pacer releases up to a millisecond's bytes at once, and ACKs wait for
  // the peer's process to be scheduled. Two BDPs of a 20 us RTT are a few
  // kilobytes, so the sender stalled on the window, not the pacer (loopback
  // cwnd 8-10 KB). Keeping a millisecond of the bandwidth estimate in
  // flight costs nothing on a WAN path, where two BDPs are far more.
  const size_t floor = std::max(kMinWindowPackets * mds_,
                                static_cast<size_t>(BtlBw() * static_cast<double>(kMinWindowUs)));
  // Two BDPs (cwnd gain) plus room for delayed and stretched ACKs.
  const size_t target = std::max(Bdp(cwnd_gain_), floor) + 3 * mds_;
  if (filled_pipe_)
    cwnd_ = std::min(cwnd_ + acked_since_ack_, target);
  else if (cwnd_ < target || delivered < kInitialWindowPackets * mds_)
    cwnd_ += acked_since_ack_;
  cwnd_ = std::max(cwnd_, floor);
}

}  // namespace confab::datagram
