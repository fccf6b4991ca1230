#include "common/base/rate_limiter.h"

#include <algorithm>

namespace confab {

RateLimiter::RateLimiter(double rate_per_second, double burst)
    : rate_per_ms_(rate_per_second / 1000.0), burst_(burst) {}

double RateLimiter::Refill(Bucket& bucket, uint64_t now_ms) const {
  if (now_ms > bucket.updated_ms) {
    bucket.tokens = std::min(burst_, bucket.tokens + (now_ms - bucket.updated_ms) * rate_per_ms_);
    bucket.updated_ms = now_ms;
  }
  return bucket.tokens;
}

bool RateLimiter::Allow(const std::string& key, uint64_t now_ms) {
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now_ms});
  Bucket& bucket = it->second;
  if (Refill(bucket, now_ms) < 1.0)
    return false;
  bucket.tokens -= 1.0;
  return true;
}

void RateLimiter::Sweep(uint64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (Refill(it->second, now_ms) >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace confab
