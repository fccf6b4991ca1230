#include "common/udp/timer_queue.h"

#include <vector>

#include <catch2/catch.hpp>

namespace confab::udp {
namespace {

TEST_CASE("A timer queue hands out due keys earliest first and keeps the rest") {
  TimerQueue q;
  q.Schedule(7, 300);
  q.Schedule(3, 100);
  q.Schedule(5, 200);
  CHECK(q.Earliest() == 100);
  CHECK(q.TakeDue(250) == std::vector<TimerQueue::Key>{3, 5});
  CHECK(q.size() == 1);
  CHECK(q.Earliest() == 300);
  CHECK(q.TakeDue(299).empty());
  CHECK(q.TakeDue(300) == std::vector<TimerQueue::Key>{7});
  CHECK(q.Earliest() == TimerQueue::kNever);
}

TEST_CASE("Rescheduling a key moves its one deadline instead of adding another") {
  TimerQueue q;
  q.Schedule(1, 100);
  q.Schedule(1, 500);
  CHECK(q.size() == 1);
  CHECK(q.Earliest() == 500);
  CHECK(q.TakeDue(100).empty());
  q.Schedule(1, 50);
  CHECK(q.TakeDue(60) == std::vector<TimerQueue::Key>{1});
}

TEST_CASE("A cancelled key never comes due, and cancelling an unknown key is harmless") {
  TimerQueue q;
  q.Schedule(1, 100);
  q.Schedule(2, 100);
  q.Cancel(1);
  q.Cancel(42);
  q.Schedule(3, TimerQueue::kNever);
  CHECK(q.size() == 1);
  CHECK(q.TakeDue(1000) == std::vector<TimerQueue::Key>{2});
}

TEST_CASE("Keys with the same deadline come due in key order") {
  TimerQueue q;
  q.Schedule(9, 10);
  q.Schedule(2, 10);
  q.Schedule(4, 10);
  CHECK(q.TakeDue(10) == std::vector<TimerQueue::Key>{2, 4, 9});
}

}  // namespace
}  // namespace confab::udp
