#include "common/udp/timer_queue.h"

namespace confab::udp {

void TimerQueue::Schedule(Key key, uint64_t deadline_us) {
  auto it = deadline_.find(key);
  if (it != deadline_.end()) {
    if (it->second == deadline_us)
      return;
    order_.erase({it->second, key});
    if (deadline_us == kNever) {
      deadline_.erase(it);
      return;
    }
    it->second = deadline_us;
  } else {
    if (deadline_us == kNever)
      return;
    deadline_.emplace(key, deadline_us);
  }
  order_.emplace(deadline_us, key);
}

std::vector<TimerQueue::Key> TimerQueue::TakeDue(uint64_t now_us) {
  std::vector<Key> due;
  while (!order_.empty() && order_.begin()->first <= now_us) {
    const Key key = order_.begin()->second;
    order_.erase(order_.begin());
    deadline_.erase(key);
    due.push_back(key);
  }
  return due;
}

}  // namespace confab::udp
