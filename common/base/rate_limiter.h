// RateLimiter: a token bucket per key (a source address), so that one
// address cannot flood a listener with handshakes while others get through:
// the tracker's port and the node's peer port (peer/reach/peer_port.h).
// Time is passed in (milliseconds) so tests need no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace confab {

class RateLimiter {
 public:
  // `rate_per_second` tokens are added per second, up to `burst`.
  RateLimiter(double rate_per_second, double burst);

  // Takes one token for `key` if it has one.
  bool Allow(const std::string& key, uint64_t now_ms);

  // Forgets buckets that have refilled completely (they behave exactly like
  // new ones), so memory stays bounded by the addresses active recently.
  void Sweep(uint64_t now_ms);

  size_t tracked() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    uint64_t updated_ms;
  };
  double Refill(Bucket& bucket, uint64_t now_ms) const;

  double rate_per_ms_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace confab
