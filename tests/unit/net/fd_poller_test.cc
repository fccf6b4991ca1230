// FdPoller: readability of a descriptor it does not own, on the loop.
#include "common/net/fd_poller.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <catch2/catch.hpp>

#include "tests/unit/net/net_test_util.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;
using testing::RunUntil;

struct Drainer final : FdPoller::Delegate {
  explicit Drainer(int read_fd) : fd(read_fd) {}
  void OnReadable() override {
    ++calls;
    char buffer[64];
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0)
      bytes += static_cast<size_t>(n);
    if (n == 0)
      eof = true;
    if (close_on_read && poller)
      poller->Close();
  }
  int fd;
  int calls = 0;
  size_t bytes = 0;
  bool eof = false;
  bool close_on_read = false;
  FdPoller* poller = nullptr;
};

struct Pipe {
  Pipe() { REQUIRE(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0); }
  ~Pipe() {
    for (int fd : fds) {
      if (fd >= 0)
        close(fd);
    }
  }
  void CloseWriter() {
    close(fds[1]);
    fds[1] = -1;
  }
  int fds[2] = {-1, -1};
};

TEST_CASE("FdPoller says when a descriptor is readable and leaves the reading to its delegate",
          "[net][poller]") {
  auto loop = MakeLoop();
  Pipe p;
  Drainer drainer(p.fds[0]);
  {
    auto poller = FdPoller::Create(*loop, p.fds[0], &drainer);
    REQUIRE(poller.ok());
    CHECK_FALSE(RunUntil(
        *loop, [&] { return drainer.calls > 0; }, 50));  // nothing yet
    REQUIRE(write(p.fds[1], "abc", 3) == 3);
    CHECK(RunUntil(*loop, [&] { return drainer.bytes == 3; }));
    p.CloseWriter();
    CHECK(RunUntil(*loop, [&] { return drainer.eof; }));
    (*poller)->Close();
  }
  CloseLoop(*loop);
}

TEST_CASE("FdPoller may be closed from its own upcall, and no upcall follows", "[net][poller]") {
  auto loop = MakeLoop();
  Pipe p;
  Drainer drainer(p.fds[0]);
  auto poller = FdPoller::Create(*loop, p.fds[0], &drainer);
  REQUIRE(poller.ok());
  drainer.poller = poller->get();
  drainer.close_on_read = true;
  REQUIRE(write(p.fds[1], "x", 1) == 1);
  REQUIRE(RunUntil(*loop, [&] { return drainer.calls == 1; }));
  REQUIRE(write(p.fds[1], "y", 1) == 1);
  CHECK_FALSE(RunUntil(
      *loop, [&] { return drainer.calls > 1; }, 50));
  poller->reset();
  CloseLoop(*loop);
}

TEST_CASE("FdPoller refuses a descriptor that cannot be polled", "[net][poller][error]") {
  auto loop = MakeLoop();
  std::FILE* regular = std::tmpfile();  // epoll cannot watch a regular file
  REQUIRE(regular != nullptr);
  Drainer drainer(fileno(regular));
  CHECK_FALSE(FdPoller::Create(*loop, fileno(regular), &drainer).ok());
  std::fclose(regular);
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::net
