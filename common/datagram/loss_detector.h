// LossDetector: the sender's record of packets in flight and RFC 9002's
// loss detection over it (section 6): a packet is lost once a packet
// kPacketThreshold numbers later is acknowledged, or once it is older than
// 9/8 of the RTT when something later is acknowledged; a probe timeout (PTO)
// fires when nothing is acknowledged for smoothed_rtt + 4 rttvar +
// max_ack_delay, doubling each time in a row.
//
// Every packet number the sender uses is recorded, in order, so a packet is
// found by its number in O(1). Sans-I/O; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "common/base/result.h"
#include "common/datagram/frame.h"
#include "common/datagram/rate_sampler.h"
#include "common/datagram/rtt_estimator.h"

namespace confab::datagram {

struct SentChunk {
  uint8_t stream;
  uint64_t offset;
  uint32_t length;
};

struct SentPacket {
  uint64_t number = 0;
  uint64_t sent_us = 0;
  uint32_t bytes = 0;          // the whole datagram, for congestion control
  bool ack_eliciting = false;  // counts against the window iff true
  bool mtu_probe = false;      // a path MTU probe: its loss is no congestion signal
  std::vector<SentChunk> chunks;
  uint8_t max_stream_data_mask = 0;              // streams whose MAX_STREAM_DATA it carried
  std::optional<uint64_t> largest_acked_in_ack;  // its ACK frame's largest
  DeliveryStamp stamp;                           // for delivery-rate samples
  bool resolved = false;                         // acked or lost
};

class LossDetector {
 public:
  static constexpr uint64_t kPacketThreshold = 3;

  explicit LossDetector(uint64_t max_ack_delay_us) : max_ack_delay_us_(max_ack_delay_us) {}

  // Packet numbers must be consecutive, starting at 0.
  void OnPacketSent(SentPacket packet);

  struct AckOutcome {
    std::vector<SentPacket> acked;
    std::vector<SentPacket> lost;
  };
  // Applies an ACK frame. Corruption when it acknowledges a number never
  // sent (the peer is broken or hostile); nothing changes then.
  [[nodiscard]] Result<AckOutcome> OnAck(uint64_t now_us, const AckFrame& ack);
  // The loss or probe timer fired. Returns packets declared lost; sets
  // probe_needed() when it was a PTO.
  std::vector<SentPacket> OnTimeout(uint64_t now_us);
  // When OnTimeout should run, or nullopt when no timer is needed.
  std::optional<uint64_t> NextTimeoutUs() const;

  // A PTO fired: the sender owes an ack-eliciting probe (cleared by the
  // caller once sent).
  bool probe_needed() const { return probe_needed_; }
  void clear_probe_needed() { probe_needed_ = false; }
  // The oldest ack-eliciting packet still unresolved, for retransmitting its
  // data in a probe; null when none.
  const SentPacket* OldestInFlight() const;

  size_t bytes_in_flight() const { return bytes_in_flight_; }
  const RttEstimator& rtt() const { return rtt_; }
  uint64_t packets_lost() const { return packets_lost_; }
  uint32_t pto_count() const { return pto_count_; }

 private:
  std::vector<SentPacket> DetectLost(uint64_t now_us);
  void Resolve(SentPacket& p);
  void PopResolved();

  uint64_t max_ack_delay_us_;
  RttEstimator rtt_;
  std::deque<SentPacket> sent_;  // sent_[i].number == first_number_ + i
  uint64_t first_number_ = 0;
  uint64_t next_number_ = 0;
  std::optional<uint64_t> largest_acked_;
  std::optional<uint64_t> loss_time_us_;
  uint64_t last_eliciting_sent_us_ = 0;
  size_t eliciting_in_flight_ = 0;
  size_t bytes_in_flight_ = 0;
  uint32_t pto_count_ = 0;
  bool probe_needed_ = false;
  uint64_t packets_lost_ = 0;
};

}  // namespace confab::datagram
