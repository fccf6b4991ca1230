#include "common/net/loop.h"

#include <memory>

#include <catch2/catch.hpp>
#include <uv.h>

#include "common/net/timer.h"

#include "tests/unit/net/net_test_util.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;

TEST_CASE("Loop creates and closes cleanly, and Close is idempotent", "[net][loop]") {
  auto loop = MakeLoop();
  CHECK_FALSE(loop->alive());
  REQUIRE(loop->Run().ok());  // nothing to do: returns at once
  CloseLoop(*loop);
  CHECK(loop->Close().ok());
  CHECK(loop->get() == nullptr);
}

TEST_CASE("Loop refuses to run after Close and factories refuse new handles",
          "[net][loop][error]") {
  auto loop = MakeLoop();
  CloseLoop(*loop);
  CHECK(loop->Run().code() == Status::Code::kFailedPrecondition);
  struct Nothing final : Timer::Delegate {
    void OnTimer() override {}
  } nothing;
  CHECK(Timer::Create(*loop, &nothing).status().code() == Status::Code::kFailedPrecondition);
}

// Tries to close and re-run the loop from inside one of its callbacks.
struct Reentrant final : Timer::Delegate {
  Loop* loop = nullptr;
  Status close_status;
  Status run_status;
  bool fired = false;
  void OnTimer() override {
    fired = true;
    close_status = loop->Close();
    run_status = loop->Run();
  }
};

TEST_CASE("Loop refuses Close and Run from inside its own callbacks", "[net][loop][error]") {
  auto loop = MakeLoop();
  Reentrant reentrant;
  reentrant.loop = loop.get();
  auto timer = Timer::Create(*loop, &reentrant);
  REQUIRE(timer.ok());
  REQUIRE((*timer)->Start(0).ok());
  REQUIRE(loop->Run().ok());
  REQUIRE(reentrant.fired);
  CHECK(reentrant.close_status.code() == Status::Code::kFailedPrecondition);
  CHECK(reentrant.run_status.code() == Status::Code::kFailedPrecondition);
  CloseLoop(*loop);
}

TEST_CASE("Loop::Close closes handles still open, so uv_loop_close succeeds", "[net][loop]") {
  auto loop = MakeLoop();
  struct Nothing final : Timer::Delegate {
    void OnTimer() override {}
  } nothing;
  auto timer = Timer::Create(*loop, &nothing);
  REQUIRE(timer.ok());
  REQUIRE((*timer)->Start(60000, 60000).ok());
  CHECK(loop->alive());
  CloseLoop(*loop);
  // The owner outlives the loop: it knows its handle is gone.
  CHECK_FALSE((*timer)->active());
  CHECK((*timer)->Start(1).code() == Status::Code::kFailedPrecondition);
}

TEST_CASE("Loop::Close also closes a handle that no confab object owns", "[net][loop]") {
  auto loop = MakeLoop();
  // Its memory is ours to free after the loop is closed.
  uv_idle_t idle{};
  REQUIRE(uv_idle_init(loop->get(), &idle) == 0);
  REQUIRE(uv_idle_start(&idle, [](uv_idle_t*) {}) == 0);
  CloseLoop(*loop);
}

TEST_CASE("Loop destroyed without Close closes its handles itself", "[net][loop]") {
  // ASan's leak check is the assertion: the timer's handle must be freed.
  struct Nothing final : Timer::Delegate {
    void OnTimer() override {}
  } nothing;
  std::unique_ptr<Timer> timer;
  {
    auto loop = MakeLoop();
    auto created = Timer::Create(*loop, &nothing);
    REQUIRE(created.ok());
    timer = std::move(*created);
    REQUIRE(timer->Start(60000).ok());
  }
  CHECK_FALSE(timer->active());
}

TEST_CASE("Loop reports the loop clock", "[net][loop]") {
  auto loop = MakeLoop();
  const uint64_t before = loop->now_ms();
  REQUIRE(testing::RunUntil(*loop, [&] { return loop->now_ms() >= before + 20; }));
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::net
