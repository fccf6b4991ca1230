// PipeListener and PipeConnection on a Unix-domain socket in a temporary
// directory; the client side is a plain blocking socket, as the CLI's is.
#include "common/net/pipe.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/net/net_test_util.h"
#include "tests/unit/store/temp_dir.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;
using testing::RunUntil;

int ConnectTo(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  return fd;
}

struct Server final : PipeListener::Delegate, PipeConnection::Delegate {
  std::unique_ptr<PipeListener> listener;
  std::unique_ptr<PipeConnection> conn;
  Bytes received;
  std::optional<Status> closed;
  bool echo_and_shutdown = false;

  void OnIncoming(Status status) override {
    CHECK(status.ok());
    auto accepted = listener->Accept(this);
    CHECK(accepted.ok());
    if (!accepted.ok())
      return;
    conn = std::move(*accepted);
    CHECK(conn->StartReading().ok());
  }
  void OnRead(ByteView data) override {
    received.insert(received.end(), data.begin(), data.end());
    if (echo_and_shutdown) {
      CHECK(conn->Write(ToBytes(data)).ok());
      conn->Shutdown();
    }
  }
  void OnClosed(Status status) override {
    closed = status;
    conn.reset();
  }
};

TEST_CASE("PipeListener serves a round trip on a 0600 socket and removes it", "[net][pipe]") {
  auto loop = MakeLoop();
  const store::TempDir dir;  // removed with the socket when the case ends
  const std::string path = dir.File("node.sock");
  Server server;
  server.echo_and_shutdown = true;
  auto listener = PipeListener::Create(*loop, path, &server);
  REQUIRE(listener.ok());
  server.listener = std::move(*listener);

  struct stat info {};
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK(S_ISSOCK(info.st_mode));
  CHECK((info.st_mode & 0777) == 0600);

  const int fd = ConnectTo(path);
  REQUIRE(write(fd, "ping", 4) == 4);
  REQUIRE(RunUntil(*loop, [&] { return server.closed.has_value(); }));
  CHECK(server.closed->ok());
  char reply[8] = {};
  CHECK(read(fd, reply, sizeof reply) == 4);
  CHECK(std::string(reply, 4) == "ping");
  close(fd);

  server.listener.reset();
  CHECK(access(path.c_str(), F_OK) != 0);
  CloseLoop(*loop);
}

TEST_CASE("PipeConnection reports Closed when the client goes away", "[net][pipe]") {
  auto loop = MakeLoop();
  const store::TempDir dir;  // removed with the socket when the case ends
  const std::string path = dir.File("node.sock");
  Server server;
  auto listener = PipeListener::Create(*loop, path, &server);
  REQUIRE(listener.ok());
  server.listener = std::move(*listener);
  const int fd = ConnectTo(path);
  REQUIRE(RunUntil(*loop, [&] { return server.conn != nullptr; }));
  close(fd);
  REQUIRE(RunUntil(*loop, [&] { return server.closed.has_value(); }));
  CHECK(server.closed->code() == Status::Code::kClosed);
  server.listener.reset();
  CloseLoop(*loop);
}

TEST_CASE("PipeListener refuses a path that exists or is too long", "[net][pipe][error]") {
  auto loop = MakeLoop();
  const store::TempDir dir;  // removed with the socket when the case ends
  const std::string path = dir.File("node.sock");
  Server server;
  auto first = PipeListener::Create(*loop, path, &server);
  REQUIRE(first.ok());
  auto second = PipeListener::Create(*loop, path, &server);
  CHECK_FALSE(second.ok());
  auto too_long = PipeListener::Create(*loop, "/tmp/" + std::string(200, 'x'), &server);
  CHECK(too_long.status().code() == Status::Code::kInvalidArgument);
  first->reset();
  CHECK(access(path.c_str(), F_OK) != 0);
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::net
