// CongestionController: what Connection asks of a congestion controller,
// so CUBIC (cubic.h, loss-based, RFC 9438) and BBR (bbr.h, model-based) are
// interchangeable. All times in microseconds; sans-I/O; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace confab::datagram {

// One delivery-rate sample (draft-cheng-iccrg-delivery-rate-estimation),
// taken per ACK frame from the most recently sent packet it acknowledged.
struct RateSample {
  bool acked = false;            // the ACK frame acknowledged an ack-eliciting packet
  bool valid = false;            // ... and bytes_per_us is a usable sample
  double bytes_per_us = 0;       // delivery rate over the sample's interval
  uint64_t rtt_us = 0;           // that packet's round trip
  uint64_t prior_delivered = 0;  // bytes delivered when that packet was sent
  bool app_limited = false;      // the sender had too little to send then
};

class CongestionController {
 public:
  virtual ~CongestionController() = default;

  // An ack-eliciting packet of `bytes` left at `now_us`.
  virtual void OnPacketSent(uint64_t now_us, size_t bytes, uint64_t smoothed_rtt_us) = 0;
  // One packet sent at `sent_us` was acknowledged.
  virtual void OnAcked(uint64_t now_us, uint64_t sent_us, size_t bytes, uint64_t smoothed_rtt_us,
                       bool cwnd_limited) = 0;
  // After all packets of one ACK frame: the rate sample, the total bytes
  // delivered so far and what is still in flight.
  virtual void OnAckProcessed(uint64_t now_us, const RateSample& sample, uint64_t delivered,
                              size_t bytes_in_flight) {
    (void)now_us, (void)sample, (void)delivered, (void)bytes_in_flight;
  }
  // A packet sent at `sent_us` was declared lost.
  virtual void OnLost(uint64_t now_us, uint64_t sent_us) = 0;

  virtual size_t cwnd() const = 0;
  // When the pacer lets the next packet leave.
  virtual uint64_t NextSendTimeUs() const = 0;
  virtual uint64_t congestion_events() const = 0;
  virtual std::string_view name() const = 0;
};

}  // namespace confab::datagram
