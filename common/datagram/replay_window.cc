#include "common/datagram/replay_window.h"

#include <algorithm>

namespace confab::datagram {

bool ReplayWindow::Check(uint64_t counter) const {
  if (counter >= kRejectAfterMessages)
    return false;
  const uint64_t shifted = counter + 1;
  if (shifted + kReplayWindowSize < top_)
    return false;  // too old: its bit has been reused
  if (shifted > top_)
    return true;  // ahead of everything seen
  const uint64_t word = (shifted / 64) % kWords;
  return (bits_[word] & (1ULL << (shifted % 64))) == 0;
}

bool ReplayWindow::Accept(uint64_t counter) {
  if (!Check(counter))
    return false;
  const uint64_t shifted = counter + 1;
  const uint64_t index = shifted / 64;
  if (shifted > top_) {
    // Clear the words between the old top and the new one (at most all of
    // them), so stale bits from a lap ago cannot mark new counters as seen.
    const uint64_t current = top_ / 64;
    const uint64_t clear = std::min<uint64_t>(index - current, kWords);
    for (uint64_t i = 1; i <= clear; ++i)
      bits_[(current + i) % kWords] = 0;
    top_ = shifted;
  }
  bits_[index % kWords] |= 1ULL << (shifted % 64);
  return true;
}

}  // namespace confab::datagram
