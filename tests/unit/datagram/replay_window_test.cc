#include "common/datagram/replay_window.h"

#include <catch2/catch.hpp>

namespace confab::datagram {
namespace {

// WireGuard's selftest/counter.c, case by case, with our window size.
TEST_CASE("ReplayWindow passes WireGuard's counter table", "[datagram][replay]") {
  ReplayWindow w;
  int step = 0;
  auto T = [&](uint64_t n, bool expected) {
    ++step;
    INFO("case " << step << ": counter " << n);
    CHECK(w.Accept(n) == expected);
  };
  constexpr uint64_t kLim = kReplayWindowSize + 1;
  T(0, true);
  T(1, true);
  T(1, false);
  T(9, true);
  T(8, true);
  T(7, true);
  T(7, false);
  T(kLim, true);
  T(kLim - 1, true);
  T(kLim - 1, false);
  T(kLim - 2, true);
  T(2, true);
  T(2, false);
  T(kLim + 16, true);
  T(3, false);
  T(kLim + 16, false);
  T(kLim * 4, true);
  T(kLim * 4 - (kLim - 1), true);
  T(10, false);
  T(kLim * 4 - kLim, false);
  T(kLim * 4 - (kLim + 1), false);
  T(kLim * 4 - (kLim - 2), true);
  T(kLim * 4 + 1 - kLim, false);
  T(0, false);
  T(kRejectAfterMessages, false);
  T(kRejectAfterMessages - 1, true);
  T(kRejectAfterMessages, false);
  T(kRejectAfterMessages - 1, false);
  T(kRejectAfterMessages - 2, true);
  T(kRejectAfterMessages + 1, false);
  T(kRejectAfterMessages + 2, false);
  T(kRejectAfterMessages - 2, false);
  T(kRejectAfterMessages - 3, true);
  T(0, false);
}

TEST_CASE("ReplayWindow accepts a whole window in any order, then refuses the one below it",
          "[datagram][replay]") {
  SECTION("ascending, then 0") {
    ReplayWindow w;
    for (uint64_t i = 1; i <= kReplayWindowSize; ++i)
      REQUIRE(w.Accept(i));
    CHECK(w.Accept(0));
    CHECK_FALSE(w.Accept(0));
  }
  SECTION("ascending from 2, then 1, and 0 is too old") {
    ReplayWindow w;
    for (uint64_t i = 2; i <= kReplayWindowSize + 1; ++i)
      REQUIRE(w.Accept(i));
    CHECK(w.Accept(1));
    CHECK_FALSE(w.Accept(0));
  }
  SECTION("descending") {
    ReplayWindow w;
    for (uint64_t i = kReplayWindowSize + 1; i-- > 0;)
      REQUIRE(w.Accept(i));
  }
  SECTION("descending from one above the window: 0 is too old") {
    ReplayWindow w;
    for (uint64_t i = kReplayWindowSize + 2; i-- > 1;)
      REQUIRE(w.Accept(i));
    CHECK_FALSE(w.Accept(0));
  }
}

TEST_CASE("ReplayWindow Check does not record", "[datagram][replay]") {
  ReplayWindow w;
  CHECK(w.Check(5));
  CHECK(w.Check(5));
  CHECK(w.Accept(5));
  CHECK_FALSE(w.Check(5));
  CHECK(w.top() == 6);
}

TEST_CASE("ReplayWindow forgets bits a full lap behind", "[datagram][replay]") {
  // Jumping exactly one ring ahead must clear the old word, or counter
  // kReplayWindowBits + 5 would look like the 5 already seen.
  ReplayWindow w;
  REQUIRE(w.Accept(5));
  REQUIRE(w.Accept(kReplayWindowBits + 70));
  CHECK(w.Accept(kReplayWindowBits + 5 - 1 + 64));
  CHECK_FALSE(w.Accept(5));
}

}  // namespace
}  // namespace confab::datagram
