#include "common/base/rate_limiter.h"

#include <catch2/catch.hpp>

namespace confab {
namespace {

TEST_CASE("A burst is allowed, then the rate, per address", "[ratelimit]") {
  RateLimiter limiter(10, 5);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i)
    CHECK(limiter.Allow("10.0.0.1", 1000));
  CHECK_FALSE(limiter.Allow("10.0.0.1", 1000));
  CHECK(limiter.Allow("10.0.0.2", 1000));  // another address is unaffected
  CHECK_FALSE(limiter.Allow("10.0.0.1", 1050));
  CHECK(limiter.Allow("10.0.0.1", 1100));  // 100 ms at 10/s is one token
  CHECK_FALSE(limiter.Allow("10.0.0.1", 1100));
}

TEST_CASE("Sweep forgets only buckets that have refilled", "[ratelimit]") {
  RateLimiter limiter(10, 5);
  CHECK(limiter.Allow("a", 0));
  for (int i = 0; i < 5; ++i)
    (void)limiter.Allow("b", 0);
  limiter.Sweep(50);
  CHECK(limiter.tracked() == 2);
  limiter.Sweep(1000);
  CHECK(limiter.tracked() == 0);
  CHECK(limiter.Allow("b", 1000));
}

TEST_CASE("Time that goes backwards never mints tokens", "[ratelimit]") {
  RateLimiter limiter(1, 1);
  CHECK(limiter.Allow("a", 5000));
  CHECK_FALSE(limiter.Allow("a", 1000));
  CHECK_FALSE(limiter.Allow("a", 5500));
  CHECK(limiter.Allow("a", 6000));
}

}  // namespace
}  // namespace confab
