#include "common/datagram/loss_detector.h"

#include <algorithm>
#include <utility>

namespace confab::datagram {

void LossDetector::OnPacketSent(SentPacket packet) {
  packet.number = next_number_++;
  packet.resolved = false;
  if (packet.ack_eliciting) {
    bytes_in_flight_ += packet.bytes;
    ++eliciting_in_flight_;
    last_eliciting_sent_us_ = packet.sent_us;
  }
  if (sent_.empty())
    first_number_ = packet.number;
  sent_.push_back(std::move(packet));
}

void LossDetector::Resolve(SentPacket& p) {
  p.resolved = true;
  if (p.ack_eliciting) {
    bytes_in_flight_ -= p.bytes;
    --eliciting_in_flight_;
  }
}

void LossDetector::PopResolved() {
  while (!sent_.empty() && sent_.front().resolved) {
    sent_.pop_front();
    ++first_number_;
  }
}

Result<LossDetector::AckOutcome> LossDetector::OnAck(uint64_t now_us, const AckFrame& ack) {
  if (ack.ranges.empty())
    return Status::Corruption("ACK frame without ranges");
  const uint64_t largest = ack.ranges.front().end - 1;
  if (largest >= next_number_)
    return Status::Corruption("ACK for a packet never sent");

  AckOutcome outcome;
  bool newly_acked_eliciting = false;
  std::optional<uint64_t> largest_newly_acked_sent_us;
  for (const Range& r : ack.ranges) {
    // Numbers below first_number_ were resolved and forgotten already.
    const uint64_t begin = std::max(r.begin, first_number_);
    for (uint64_t n = begin; n < r.end; ++n) {
      SentPacket& p = sent_[n - first_number_];
      if (p.resolved)
        continue;
      if (n == largest)
        largest_newly_acked_sent_us = p.sent_us;
      newly_acked_eliciting |= p.ack_eliciting;
      Resolve(p);
      outcome.acked.push_back(p);  // copy: the entry stays until popped in order
      p.chunks.clear();
    }
  }
  if (outcome.acked.empty())
    return outcome;
  if (!largest_acked_ || largest > *largest_acked_)
    largest_acked_ = largest;
  // RFC 9002 5.1: an RTT sample only when the largest acknowledged is newly
  // acknowledged and something ack-eliciting was newly acknowledged.
  if (largest_newly_acked_sent_us && newly_acked_eliciting &&
      now_us >= *largest_newly_acked_sent_us)
    rtt_.OnSample(now_us - *largest_newly_acked_sent_us, ack.delay_us, max_ack_delay_us_);
  pto_count_ = 0;
  outcome.lost = DetectLost(now_us);
  PopResolved();
  return outcome;
}

std::vector<SentPacket> LossDetector::DetectLost(uint64_t now_us) {
  std::vector<SentPacket> lost;
  loss_time_us_.reset();
  if (!largest_acked_)
    return lost;
  // RFC 9002 6.1.2: 9/8 of the larger of the latest and smoothed RTT.
  const uint64_t loss_delay = std::max<uint64_t>(
      9 * std::max(rtt_.latest_us(), rtt_.smoothed_us()) / 8, RttEstimator::kGranularityUs);
  const uint64_t lost_before_us = now_us > loss_delay ? now_us - loss_delay : 0;
  for (SentPacket& p : sent_) {
    if (p.number > *largest_acked_)
      break;
    if (p.resolved)
      continue;
    if (p.sent_us <= lost_before_us || *largest_acked_ >= p.number + kPacketThreshold) {
      Resolve(p);
      ++packets_lost_;
      lost.push_back(std::move(p));
      p.chunks.clear();
    } else {
      const uint64_t when = p.sent_us + loss_delay;
      loss_time_us_ = loss_time_us_ ? std::min(*loss_time_us_, when) : when;
    }
  }
  return lost;
}

std::optional<uint64_t> LossDetector::NextTimeoutUs() const {
  if (loss_time_us_)
    return loss_time_us_;
  if (eliciting_in_flight_ == 0)
    return std::nullopt;
  const uint64_t pto = rtt_.PtoUs(max_ack_delay_us_) << std::min<uint32_t>(pto_count_, 16);
  return last_eliciting_sent_us_ + pto;
}

std::vector<SentPacket> LossDetector::OnTimeout(uint64_t now_us) {
  if (loss_time_us_) {
    std::vector<SentPacket> lost = DetectLost(now_us);
    PopResolved();
    return lost;
  }
  if (eliciting_in_flight_ > 0) {
    // RFC 9002 6.2.4: a PTO declares nothing lost; it sends a probe.
    ++pto_count_;
    probe_needed_ = true;
    // Re-arm from now so the doubled timeout counts from this probe.
    last_eliciting_sent_us_ = now_us;
  }
  return {};
}

const SentPacket* LossDetector::OldestInFlight() const {
  for (const SentPacket& p : sent_) {
    if (!p.resolved && p.ack_eliciting)
      return &p;
  }
  return nullptr;
}

}  // namespace confab::datagram
