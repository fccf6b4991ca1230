#include "common/net/timer.h"

#include <memory>

#include <catch2/catch.hpp>

#include "tests/unit/net/net_test_util.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;
using testing::RunUntil;

struct Counter final : Timer::Delegate {
  int fired = 0;
  int stop_after = 0;  // 0: never
  Timer* timer = nullptr;
  std::unique_ptr<Timer>* destroy_on_fire = nullptr;
  void OnTimer() override {
    ++fired;
    if (stop_after != 0 && fired == stop_after)
      timer->Stop();
    if (destroy_on_fire != nullptr)
      destroy_on_fire->reset();  // the owner goes away inside its own callback
  }
};

std::unique_ptr<Timer> MakeTimer(Loop& loop, Timer::Delegate* delegate) {
  Result<std::unique_ptr<Timer>> timer = Timer::Create(loop, delegate);
  REQUIRE(timer.ok());
  return std::move(*timer);
}

TEST_CASE("Timer fires once for a one-shot start", "[net][timer]") {
  auto loop = MakeLoop();
  Counter counter;
  auto timer = MakeTimer(*loop, &counter);
  REQUIRE(timer->Start(10).ok());
  CHECK(timer->active());
  REQUIRE(loop->Run().ok());  // returns when the one-shot timer is done
  CHECK(counter.fired == 1);
  CHECK_FALSE(timer->active());
  CloseLoop(*loop);
}

TEST_CASE("Timer repeats until stopped", "[net][timer]") {
  auto loop = MakeLoop();
  Counter counter;
  auto timer = MakeTimer(*loop, &counter);
  counter.timer = timer.get();
  counter.stop_after = 3;
  REQUIRE(timer->Start(1, 1).ok());
  REQUIRE(loop->Run().ok());  // returns once Stop() leaves nothing active
  CHECK(counter.fired == 3);
  CHECK_FALSE(timer->active());
  CloseLoop(*loop);
}

TEST_CASE("Timer can be restarted and stopped before it fires", "[net][timer]") {
  auto loop = MakeLoop();
  Counter counter;
  auto timer = MakeTimer(*loop, &counter);
  REQUIRE(timer->Start(60000).ok());
  timer->Stop();
  REQUIRE(loop->Run().ok());
  CHECK(counter.fired == 0);
  REQUIRE(timer->Start(1).ok());
  REQUIRE(loop->Run().ok());
  CHECK(counter.fired == 1);
  CloseLoop(*loop);
}

TEST_CASE("Timer may be destroyed inside its own callback", "[net][timer]") {
  auto loop = MakeLoop();
  Counter counter;
  auto timer = MakeTimer(*loop, &counter);
  counter.destroy_on_fire = &timer;
  REQUIRE(timer->Start(1, 1).ok());
  REQUIRE(RunUntil(*loop, [&] { return timer == nullptr; }));
  CHECK(counter.fired == 1);
  CloseLoop(*loop);
}

TEST_CASE("Timer destroyed while armed never calls back", "[net][timer]") {
  auto loop = MakeLoop();
  Counter counter;
  auto timer = MakeTimer(*loop, &counter);
  REQUIRE(timer->Start(0).ok());
  timer.reset();
  REQUIRE(loop->Run().ok());
  CHECK(counter.fired == 0);
  CloseLoop(*loop);
}

TEST_CASE("Timer Close is idempotent and Start after it fails", "[net][timer][error]") {
  auto loop = MakeLoop();
  Counter counter;
  auto timer = MakeTimer(*loop, &counter);
  REQUIRE(timer->Start(0).ok());
  timer->Close();
  timer->Close();
  CHECK(timer->Start(1).code() == Status::Code::kFailedPrecondition);
  timer->Stop();  // harmless
  REQUIRE(loop->Run().ok());
  CHECK(counter.fired == 0);
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::net
