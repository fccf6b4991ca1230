#include "common/net/fd_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "tests/unit/net/net_test_util.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;
using testing::RunUntil;

struct Collector final : FdReader::Delegate {
  std::string data;
  int ends = 0;
  Status end_status;
  std::unique_ptr<FdReader>* destroy_on_read = nullptr;
  std::unique_ptr<FdReader>* destroy_on_end = nullptr;
  void OnRead(ByteView bytes) override {
    data.append(AsChars(bytes));
    if (destroy_on_read != nullptr)
      destroy_on_read->reset();  // the owner goes away inside its own callback
  }
  void OnEnd(Status status) override {
    ++ends;
    end_status = std::move(status);
    if (destroy_on_end != nullptr)
      destroy_on_end->reset();
  }
};

struct Pipe {
  int fds[2] = {-1, -1};
  Pipe() { REQUIRE(::pipe(fds) == 0); }
  ~Pipe() {
    CloseWriteEnd();
    if (fds[0] >= 0)
      ::close(fds[0]);
  }
  // The reader owns the read end once created on it.
  int GiveReadEnd() { return std::exchange(fds[0], -1); }
  void Write(const std::string& s) {
    REQUIRE(::write(fds[1], s.data(), s.size()) == ssize_t(s.size()));
  }
  void CloseWriteEnd() {
    if (fds[1] >= 0)
      ::close(fds[1]);
    fds[1] = -1;
  }
};

TEST_CASE("FdReader reads a pipe until end of file", "[net][fd_reader]") {
  auto loop = MakeLoop();
  Pipe pipe;
  Collector collector;
  auto reader = FdReader::Create(*loop, pipe.GiveReadEnd(), &collector);
  REQUIRE(reader.ok());
  pipe.Write("status away lunch\n");
  REQUIRE(RunUntil(*loop, [&] { return collector.data.size() == 18; }));
  pipe.Write("quit\n");
  pipe.CloseWriteEnd();
  REQUIRE(RunUntil(*loop, [&] { return collector.ends == 1; }));
  CHECK(collector.data == "status away lunch\nquit\n");
  CHECK(collector.end_status.code() == Status::Code::kClosed);
  CHECK(collector.end_status.message() == "end of input");
  CloseLoop(*loop);
  CHECK(collector.ends == 1);
}

TEST_CASE("FdReader may be destroyed inside OnEnd", "[net][fd_reader]") {
  auto loop = MakeLoop();
  Pipe pipe;
  Collector collector;
  auto reader = FdReader::Create(*loop, pipe.GiveReadEnd(), &collector);
  REQUIRE(reader.ok());
  std::unique_ptr<FdReader> owned = std::move(*reader);
  collector.destroy_on_end = &owned;
  pipe.Write("bye");
  pipe.CloseWriteEnd();
  REQUIRE(RunUntil(*loop, [&] { return owned == nullptr; }));
  CHECK(collector.data == "bye");
  CHECK(collector.ends == 1);
  CloseLoop(*loop);
}

TEST_CASE("FdReader hears no OnEnd when the loop closes it", "[net][fd_reader][loop]") {
  auto loop = MakeLoop();
  Pipe pipe;
  Collector collector;
  auto reader = FdReader::Create(*loop, pipe.GiveReadEnd(), &collector);
  REQUIRE(reader.ok());
  CloseLoop(*loop);  // the reader's handle is closed for it, quietly
  CHECK(collector.ends == 0);
}

TEST_CASE("FdReader reads a terminal and ends with the read error when it hangs up",
          "[net][fd_reader][tty]") {
  auto loop = MakeLoop();
  // A pseudo-terminal: the reader gets the slave side, as a console's stdin.
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const char* name = ::ptsname(master);
  REQUIRE(name != nullptr);
  const int slave = ::open(name, O_RDWR | O_NOCTTY);
  REQUIRE(slave >= 0);
  Collector collector;
  auto reader = FdReader::Create(*loop, slave, &collector);
  REQUIRE(reader.ok());
  REQUIRE(::write(master, "status\n", 7) == 7);  // a line, for the terminal's line discipline
  REQUIRE(RunUntil(*loop, [&] { return collector.data.size() >= 7; }));
  CHECK(collector.data.substr(0, 6) == "status");
  ::close(master);  // the terminal hangs up: reads fail with EIO, not EOF
  REQUIRE(RunUntil(*loop, [&] { return collector.ends == 1; }));
  CHECK_FALSE(collector.end_status.ok());
  CloseLoop(*loop);
  CHECK(collector.ends == 1);
}

TEST_CASE("FdReader may be destroyed inside OnRead", "[net][fd_reader]") {
  auto loop = MakeLoop();
  Pipe pipe;
  Collector collector;
  auto reader = FdReader::Create(*loop, pipe.GiveReadEnd(), &collector);
  REQUIRE(reader.ok());
  std::unique_ptr<FdReader> owned = std::move(*reader);
  collector.destroy_on_read = &owned;
  pipe.Write("x");
  REQUIRE(RunUntil(*loop, [&] { return owned == nullptr; }));
  pipe.CloseWriteEnd();
  REQUIRE(RunUntil(
              *loop, [] { return false; }, 50) == false);
  CHECK(collector.ends == 0);  // no upcall after destruction
  CloseLoop(*loop);
}

TEST_CASE("FdReader closed by its owner sends no upcall", "[net][fd_reader]") {
  auto loop = MakeLoop();
  Pipe pipe;
  Collector collector;
  auto reader = FdReader::Create(*loop, pipe.GiveReadEnd(), &collector);
  REQUIRE(reader.ok());
  (*reader)->Close();
  (*reader)->Close();  // idempotent
  REQUIRE(RunUntil(
              *loop, [] { return false; }, 50) == false);
  CHECK(collector.data.empty());
  CHECK(collector.ends == 0);
  CloseLoop(*loop);
}

TEST_CASE("FdReader refuses a regular file and a closed descriptor", "[net][fd_reader][error]") {
  auto loop = MakeLoop();
  Collector collector;
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  auto from_file = FdReader::Create(*loop, ::fileno(file), &collector);
  CHECK(from_file.status().code() == Status::Code::kInvalidArgument);
  std::fclose(file);
  auto from_closed = FdReader::Create(*loop, 1000, &collector);
  CHECK_FALSE(from_closed.ok());
  CloseLoop(*loop);
}

TEST_CASE("FdReader refuses a closing loop", "[net][fd_reader][error]") {
  auto loop = MakeLoop();
  CloseLoop(*loop);
  Pipe pipe;
  Collector collector;
  CHECK(FdReader::Create(*loop, pipe.fds[0], &collector).status().code() ==
        Status::Code::kFailedPrecondition);
}

}  // namespace
}  // namespace confab::net
