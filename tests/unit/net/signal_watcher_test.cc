#include "common/net/signal_watcher.h"

#include <csignal>
#include <memory>

#include <catch2/catch.hpp>

#include "tests/unit/net/net_test_util.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;
using testing::RunUntil;

struct Received final : SignalWatcher::Delegate {
  int last = 0;
  int count = 0;
  void OnSignal(int signum) override {
    last = signum;
    ++count;
  }
};

TEST_CASE("SignalWatcher delivers a signal raised at this process on the loop", "[net][signal]") {
  auto loop = MakeLoop();
  for (int signum : {SIGUSR1, SIGTERM}) {
    CAPTURE(signum);
    Received received;
    Result<std::unique_ptr<SignalWatcher>> watcher =
        SignalWatcher::Create(*loop, signum, &received);
    REQUIRE(watcher.ok());
    CHECK((*watcher)->signum() == signum);
    REQUIRE(std::raise(signum) == 0);
    REQUIRE(RunUntil(*loop, [&] { return received.count > 0; }));
    CHECK(received.last == signum);
    (*watcher)->Close();
    (*watcher)->Close();
  }
  CloseLoop(*loop);
}

TEST_CASE("SignalWatcher refuses a bad signal number", "[net][signal][error]") {
  auto loop = MakeLoop();
  Received received;
  Result<std::unique_ptr<SignalWatcher>> watcher = SignalWatcher::Create(*loop, -1, &received);
  REQUIRE_FALSE(watcher.ok());
  CHECK(watcher.status().code() == Status::Code::kInvalidArgument);
  CloseLoop(*loop);  // the half-made handle was closed, not leaked
}

}  // namespace
}  // namespace confab::net
