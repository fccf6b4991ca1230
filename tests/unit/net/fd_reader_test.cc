#include "common/net/fd_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
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
  void OnRead(ByteView bytes) override {
    data.append(AsChars(bytes));
    if (destroy_on_read != nullptr)
      destroy_on_read->reset();  // the owner goes away inside its own callback
  }
  void OnEnd(Status status) override {
    ++ends;
    end_status = std::move(status);
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
