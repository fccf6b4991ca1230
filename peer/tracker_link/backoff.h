// How long the node waits before reconnecting to the tracker: doubling
// from initial_ms up to max_ms, each delay jittered so that a tracker
// restart is not met by every node at the same instant.
#pragma once

#include <cstdint>

namespace confab::peer {

struct BackoffPolicy {
  uint64_t initial_ms = 500;
  uint64_t max_ms = 30000;
  double jitter = 0.2;  // each delay is scaled by a random factor in [1-j, 1+j]
};

}  // namespace confab::peer
