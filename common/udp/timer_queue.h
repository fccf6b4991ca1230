// TimerQueue: the endpoint's per-session deadlines, ordered, so a re-arm
// costs O(log n) in the sessions whose deadline changed instead of a scan of
// every session (issue 17, item 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

namespace confab::udp {

class TimerQueue {
 public:
  using Key = uint32_t;
  static constexpr uint64_t kNever = UINT64_MAX;

  // Sets `key`'s deadline, replacing any earlier one; kNever cancels it.
  void Schedule(Key key, uint64_t deadline_us);
  void Cancel(Key key) { Schedule(key, kNever); }
  // The earliest deadline, or kNever when nothing is scheduled.
  uint64_t Earliest() const { return order_.empty() ? kNever : order_.begin()->first; }
  // Removes and returns the keys due at `now_us`, earliest first (ties by
  // key).
  std::vector<Key> TakeDue(uint64_t now_us);
  size_t size() const { return order_.size(); }

 private:
  std::set<std::pair<uint64_t, Key>> order_;
  std::map<Key, uint64_t> deadline_;
};

}  // namespace confab::udp
