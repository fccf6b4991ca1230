// The node's one reading of wall-clock time, for message timestamps and
// history (the sans-I/O parts take time as an argument).
#pragma once

#include <chrono>
#include <cstdint>

namespace confab::peer {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace confab::peer
