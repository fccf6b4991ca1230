#include "common/datagram/rate_sampler.h"

#include <algorithm>

namespace confab::datagram {

DeliveryStamp DeliveryRateSampler::OnPacketSent(uint64_t now_us, size_t bytes_in_flight) {
  if (bytes_in_flight == 0) {
    // Nothing in flight: the intervals start afresh now (draft section 3.2).
    first_sent_us_ = now_us;
    delivered_time_us_ = now_us;
  }
  return DeliveryStamp{delivered_, delivered_time_us_, first_sent_us_, app_limited_until_ != 0};
}

void DeliveryRateSampler::OnPacketAcked(uint64_t now_us, const DeliveryStamp& stamp,
                                        uint64_t sent_us, size_t bytes) {
  delivered_ += bytes;
  delivered_time_us_ = now_us;
  if (app_limited_until_ != 0 && delivered_ > app_limited_until_)
    app_limited_until_ = 0;
  if (!have_packet_ || stamp.delivered >= packet_.delivered) {
    have_packet_ = true;
    packet_ = stamp;
    packet_sent_us_ = sent_us;
  }
}

RateSample DeliveryRateSampler::TakeSample(uint64_t min_rtt_us) {
  RateSample sample;
  if (!have_packet_)
    return sample;
  have_packet_ = false;
  sample.acked = true;
  const uint64_t send_elapsed = packet_sent_us_ - packet_.first_sent_us;
  const uint64_t ack_elapsed = delivered_time_us_ - packet_.delivered_time_us;
  const uint64_t interval = std::max(send_elapsed, ack_elapsed);
  first_sent_us_ = packet_sent_us_;
  sample.rtt_us = delivered_time_us_ - packet_sent_us_;
  sample.prior_delivered = packet_.delivered;
  sample.app_limited = packet_.app_limited;
  if (interval == 0 || interval < min_rtt_us)
    return sample;
  sample.valid = true;
  sample.bytes_per_us =
      static_cast<double>(delivered_ - packet_.delivered) / static_cast<double>(interval);
  return sample;
}

void DeliveryRateSampler::OnAppLimited(size_t bytes_in_flight) {
  app_limited_until_ = std::max<uint64_t>(delivered_ + bytes_in_flight, 1);
}

}  // namespace confab::datagram
