// Helpers for the net tests. Inside a libuv callback use CHECK, never
// REQUIRE: REQUIRE throws, and no exception may cross a libuv callback.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include <catch2/catch.hpp>

#include "common/net/loop.h"
#include "common/net/timer.h"

namespace confab::net::testing {

inline std::unique_ptr<Loop> MakeLoop() {
  Result<std::unique_ptr<Loop>> loop = Loop::Create();
  REQUIRE(loop.ok());
  return std::move(*loop);
}

// Runs `loop` until `done()` holds or `timeout_ms` passes; returns done().
// A ticking timer makes sure the loop wakes up to check.
inline bool RunUntil(Loop& loop, const std::function<bool()>& done, uint64_t timeout_ms = 5000) {
  struct Tick final : Timer::Delegate {
    void OnTimer() override {}
  } tick;
  Result<std::unique_ptr<Timer>> timer = Timer::Create(loop, &tick);
  REQUIRE(timer.ok());
  REQUIRE((*timer)->Start(5, 5).ok());
  const uint64_t deadline = loop.now_ms() + timeout_ms;
  while (!done() && loop.now_ms() < deadline)
    REQUIRE(loop.Run(Loop::RunMode::kOnce).ok());
  return done();
}

// Every test ends here: uv_loop_close() == 0, so no handle or request leaked.
inline void CloseLoop(Loop& loop) {
  const Status closed = loop.Close();
  INFO(closed.ToString());
  REQUIRE(closed.ok());
}

}  // namespace confab::net::testing
