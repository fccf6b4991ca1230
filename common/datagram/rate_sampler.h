// DeliveryRateSampler: the delivery-rate estimator of
// draft-cheng-iccrg-delivery-rate-estimation (what Linux TCP's BBR uses).
// Each packet is stamped at send with how much had been delivered by then;
// when it is acknowledged, (delivered now - delivered then) over the longer of
// its send and ACK intervals is one sample of the path's delivery rate.
// Sans-I/O; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/datagram/congestion_controller.h"

namespace confab::datagram {

struct DeliveryStamp {
  uint64_t delivered = 0;          // bytes delivered when the packet left
  uint64_t delivered_time_us = 0;  // when that count last moved
  uint64_t first_sent_us = 0;      // send time of the packet acked last by then
  bool app_limited = false;
};

class DeliveryRateSampler {
 public:
  // Stamp for a packet leaving at `now_us` with `bytes_in_flight` already out.
  DeliveryStamp OnPacketSent(uint64_t now_us, size_t bytes_in_flight);
  // A packet (`stamp`, sent at `sent_us`, `bytes` long) was acknowledged.
  void OnPacketAcked(uint64_t now_us, const DeliveryStamp& stamp, uint64_t sent_us, size_t bytes);
  // After one ACK frame's packets: the sample, or !valid when none was taken
  // or its interval is shorter than `min_rtt_us` (an overestimate).
  RateSample TakeSample(uint64_t min_rtt_us);
  // The sender has window to spare but nothing to send: samples until the
  // data now in flight is delivered measure the application, not the path.
  void OnAppLimited(size_t bytes_in_flight);

  uint64_t delivered() const { return delivered_; }

 private:
  uint64_t delivered_ = 0;
  uint64_t delivered_time_us_ = 0;
  uint64_t first_sent_us_ = 0;
  uint64_t app_limited_until_ = 0;  // 0: not app-limited
  // The packet of the current ACK frame with the largest stamp.
  bool have_packet_ = false;
  DeliveryStamp packet_;
  uint64_t packet_sent_us_ = 0;
};

}  // namespace confab::datagram
