// The one reading of wall-clock time, for timestamps, certificate validity
// and history. Sans-I/O cores never call these: they take the time as an
// argument, so their tests choose it.
#pragma once

#include <chrono>
#include <cstdint>

namespace confab {

// Milliseconds since the Unix epoch.
inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Seconds since the Unix epoch (certificates are valid in whole seconds).
inline int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace confab
