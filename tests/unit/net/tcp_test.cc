// TcpListener and TcpConnection on loopback, port 0 only.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/net/tcp_connection.h"
#include "common/net/tcp_listener.h"

#include "tests/unit/net/net_test_util.h"
#include "tests/unit/skip.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;
using testing::RunUntil;

// Records every event; optional behaviours for the tests below.
struct Peer final : TcpConnection::Delegate {
  std::unique_ptr<TcpConnection> conn;
  bool connected = false;
  Bytes received;
  int writable = 0;
  std::optional<Status> closed;
  bool echo = false;              // write back what arrives
  bool close_on_read = false;     // Close() from inside OnRead
  bool destroy_on_read = false;   // destroy the connection inside OnRead
  bool destroy_on_closed = true;  // the recommended place to destroy it

  void OnConnected() override { connected = true; }
  void OnRead(ByteView data) override {
    received.insert(received.end(), data.begin(), data.end());
    if (echo)
      CHECK(conn->Write(ToBytes(data)).ok());
    if (close_on_read)
      conn->Close();
    if (destroy_on_read)
      conn.reset();
  }
  void OnWritable() override { ++writable; }
  void OnClosed(Status status) override {
    closed = status;
    if (destroy_on_closed)
      conn.reset();
  }
};

// Accepts every connection into `peers`, in order.
struct Server final : TcpListener::Delegate {
  std::unique_ptr<TcpListener> listener;
  std::vector<std::unique_ptr<Peer>> peers;
  TcpConnection::Options options;
  bool read = true;
  bool echo = false;
  std::optional<Status> error;

  void OnIncoming(Status status) override {
    if (!status.ok()) {
      error = status;
      return;
    }
    auto peer = std::make_unique<Peer>();
    peer->echo = echo;
    Result<std::unique_ptr<TcpConnection>> conn = listener->Accept(peer.get(), options);
    CHECK(conn.ok());
    if (!conn.ok())
      return;
    peer->conn = std::move(*conn);
    if (read)
      CHECK(peer->conn->StartReading().ok());
    peers.push_back(std::move(peer));
  }
};

Address Loopback(uint16_t port = 0) {
  Result<Address> address = Address::FromIp("127.0.0.1", port);
  REQUIRE(address.ok());
  return *address;
}

void Listen(Loop& loop, Server& server, const Address& at = Loopback()) {
  Result<std::unique_ptr<TcpListener>> listener = TcpListener::Create(loop, at, &server);
  REQUIRE(listener.ok());
  server.listener = std::move(*listener);
  REQUIRE(server.listener->port() != 0);
}

void Connect(Loop& loop, Peer& client, const Address& to,
             TcpConnection::Options options = TcpConnection::Options()) {
  Result<std::unique_ptr<TcpConnection>> conn = TcpConnection::Connect(loop, to, &client, options);
  REQUIRE(conn.ok());
  client.conn = std::move(*conn);
  CHECK(client.conn->state() == TcpConnection::State::kConnecting);
}

Bytes Pattern(size_t size, size_t seed) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<uint8_t>((i * 31 + seed) & 0xff);
  return bytes;
}

TEST_CASE("TcpConnection echo round trip on loopback", "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  server.echo = true;
  Listen(*loop, server);
  Result<Address> bound = server.listener->local_address();
  REQUIRE(bound.ok());
  CHECK(bound->port() == server.listener->port());

  Peer client;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(client.conn->StartReading().ok());  // remembered until connected
  CHECK(client.conn->Write(ToBytes(AsBytes("early"))).code() == Status::Code::kFailedPrecondition);
  REQUIRE(RunUntil(*loop, [&] { return client.connected; }));
  CHECK(client.conn->state() == TcpConnection::State::kOpen);
  CHECK(client.conn->want_write());
  REQUIRE(client.conn->Write(ToBytes(AsBytes("hello, "))).ok());
  REQUIRE(client.conn->Write(ToBytes(AsBytes("confab"))).ok());
  REQUIRE(client.conn->Write(Bytes()).ok());
  REQUIRE(RunUntil(*loop, [&] { return client.received.size() == 13; }));
  CHECK(AsChars(client.received) == "hello, confab");

  // Both ends agree on who is who.
  REQUIRE(server.peers.size() == 1);
  Result<Address> client_local = client.conn->local_address();
  Result<Address> server_sees = server.peers[0]->conn->peer_address();
  Result<Address> client_peer = client.conn->peer_address();
  REQUIRE(client_local.ok());
  REQUIRE(server_sees.ok());
  REQUIRE(client_peer.ok());
  CHECK(client_local->ToString() == server_sees->ToString());
  CHECK(client_peer->port() == server.listener->port());

  client.conn->Close();
  client.conn->Close();  // idempotent
  REQUIRE(RunUntil(*loop, [&] { return client.closed && server.peers[0]->closed; }));
  CHECK(client.closed->ok());
  CHECK(server.peers[0]->closed->code() == Status::Code::kClosed);
  CHECK(client.conn == nullptr);  // destroyed in its OnClosed
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection flushes many writes with Shutdown before closing", "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(RunUntil(*loop, [&] { return client.connected; }));

  Bytes expected;
  for (size_t i = 0; i < 300; ++i) {
    Bytes chunk = Pattern(7001, i);
    expected.insert(expected.end(), chunk.begin(), chunk.end());
    REQUIRE(client.conn->Write(std::move(chunk)).ok());
  }
  client.conn->Shutdown();
  CHECK(client.conn->state() == TcpConnection::State::kShuttingDown);
  CHECK(client.conn->Write(Bytes(1, 0)).code() == Status::Code::kFailedPrecondition);
  client.conn->Shutdown();  // idempotent
  REQUIRE(RunUntil(
      *loop, [&] { return client.closed && !server.peers.empty() && server.peers[0]->closed; }));
  CHECK(client.closed->ok());
  // The server read everything, then the orderly end of the stream.
  CHECK(server.peers[0]->received == expected);
  CHECK(server.peers[0]->closed->code() == Status::Code::kClosed);
  CHECK(server.peers[0]->closed->message() == "peer closed the connection");
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection to a closed port fails with Unavailable", "[net][tcp][error]") {
  auto loop = MakeLoop();
  uint16_t port = 0;
  {
    // Borrow a free port, then give it back.
    Server server;
    Listen(*loop, server);
    port = server.listener->port();
  }
  REQUIRE(loop->Run().ok());
  Peer client;
  Connect(*loop, client, Loopback(port));
  REQUIRE(RunUntil(*loop, [&] { return client.closed.has_value(); }));
  CHECK_FALSE(client.connected);
  CHECK(client.closed->code() == Status::Code::kUnavailable);
  CHECK(std::string(client.closed->message()).find("ECONNREFUSED") != std::string::npos);
  CloseLoop(*loop);
}

TEST_CASE("TcpListener reports a port already in use", "[net][tcp][error]") {
  auto loop = MakeLoop();
  Server first;
  Listen(*loop, first);
  Server second;
  Result<std::unique_ptr<TcpListener>> taken =
      TcpListener::Create(*loop, Loopback(first.listener->port()), &second);
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.status().code() == Status::Code::kUnavailable);
  first.listener->Close();
  first.listener->Close();
  CHECK(first.listener->Accept(nullptr).status().code() == Status::Code::kFailedPrecondition);
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection hears OnClosed when the remote closes mid-stream", "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(client.conn->StartReading().ok());
  REQUIRE(RunUntil(*loop, [&] { return client.connected && !server.peers.empty(); }));
  REQUIRE(server.peers[0]->conn->Write(Bytes(1000, 1)).ok());
  REQUIRE(client.conn->Write(Bytes(5000, 2)).ok());
  REQUIRE(RunUntil(*loop, [&] { return client.received.size() == 1000; }));
  server.peers[0]->conn->Close();  // drops the unread rest of our 5000 bytes
  REQUIRE(RunUntil(*loop, [&] { return client.closed.has_value(); }));
  // EOF or a reset, depending on what the kernel saw first: both are Closed.
  CHECK(client.closed->code() == Status::Code::kClosed);
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection backpressure: want_write goes false, OnWritable once drained",
          "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  server.read = false;  // the peer does not read, so the kernel buffers fill
  Listen(*loop, server);
  TcpConnection::Options options;
  options.high_water_bytes = 256 * 1024;
  options.low_water_bytes = 64 * 1024;
  Peer client;
  Connect(*loop, client, Loopback(server.listener->port()), options);
  REQUIRE(RunUntil(*loop, [&] { return client.connected && !server.peers.empty(); }));

  size_t written = 0;
  // Loopback buffers are a few MiB at most; 256 MiB means something is wrong.
  while (client.conn->want_write() && written < (256u << 20)) {
    REQUIRE(client.conn->Write(Bytes(64 * 1024, 0x55)).ok());
    written += 64 * 1024;
  }
  REQUIRE_FALSE(client.conn->want_write());
  CHECK(client.conn->write_queue_bytes() > options.high_water_bytes);
  CHECK(client.writable == 0);
  // Still blocked after a while: nobody reads.
  REQUIRE_FALSE(RunUntil(
      *loop, [&] { return client.writable > 0; }, 50));

  REQUIRE(server.peers[0]->conn->StartReading().ok());
  REQUIRE(RunUntil(*loop, [&] { return client.writable > 0; }));
  CHECK(client.writable == 1);
  CHECK(client.conn->want_write());
  CHECK(client.conn->write_queue_bytes() <= options.low_water_bytes);
  REQUIRE(RunUntil(
      *loop, [&] { return server.peers[0]->received.size() == written; }, 20000));
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection delivers nothing between StopReading and StartReading", "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(client.conn->StartReading().ok());
  REQUIRE(RunUntil(*loop, [&] { return client.connected && !server.peers.empty(); }));
  client.conn->StopReading();
  client.conn->StopReading();  // idempotent
  REQUIRE(server.peers[0]->conn->Write(ToBytes(AsBytes("held back"))).ok());
  REQUIRE_FALSE(RunUntil(
      *loop, [&] { return !client.received.empty(); }, 50));
  REQUIRE(client.conn->StartReading().ok());
  REQUIRE(RunUntil(*loop, [&] { return client.received.size() == 9; }));
  CHECK(AsChars(client.received) == "held back");
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection may Close from inside OnRead, then be destroyed in OnClosed",
          "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  client.close_on_read = true;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(client.conn->StartReading().ok());
  REQUIRE(RunUntil(*loop, [&] { return !server.peers.empty(); }));
  // Several writes, so more reads may be pending when the close starts.
  for (int i = 0; i < 20; ++i)
    REQUIRE(server.peers[0]->conn->Write(Bytes(3000, 9)).ok());
  REQUIRE(RunUntil(*loop, [&] { return client.closed.has_value(); }));
  CHECK(client.closed->ok());
  CHECK(client.conn == nullptr);
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection survives being destroyed inside its own OnRead", "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  client.destroy_on_read = true;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(client.conn->StartReading().ok());
  REQUIRE(RunUntil(*loop, [&] { return client.connected && !server.peers.empty(); }));
  // A write of ours still queued when we vanish must be freed too.
  REQUIRE(client.conn->Write(Bytes(100, 1)).ok());
  REQUIRE(server.peers[0]->conn->Write(Bytes(5000, 9)).ok());
  REQUIRE(RunUntil(*loop, [&] { return client.conn == nullptr; }));
  CHECK_FALSE(client.closed.has_value());  // destroyed, so no upcall
  REQUIRE(RunUntil(*loop, [&] { return server.peers[0]->closed.has_value(); }));
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection destroyed with writes queued frees them", "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  server.read = false;
  Listen(*loop, server);
  Peer client;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(RunUntil(*loop, [&] { return client.connected; }));
  for (int i = 0; i < 200; ++i)
    REQUIRE(client.conn->Write(Bytes(64 * 1024, 3)).ok());
  CHECK(client.conn->write_queue_bytes() > 0);
  client.conn.reset();  // the WriteReqs complete with UV_ECANCELED and free their bytes
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection Close before connecting reports OK and no OnConnected", "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  Connect(*loop, client, Loopback(server.listener->port()));
  client.conn->Shutdown();  // before connecting: the same as Close
  REQUIRE(RunUntil(*loop, [&] { return client.closed.has_value(); }));
  CHECK(client.closed->ok());
  CHECK_FALSE(client.connected);
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection refuses use after close", "[net][tcp][error]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  client.destroy_on_closed = false;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(RunUntil(*loop, [&] { return client.connected; }));
  client.conn->Close();
  CHECK(client.conn->state() == TcpConnection::State::kClosing);
  CHECK(client.conn->Write(Bytes(1, 0)).code() == Status::Code::kFailedPrecondition);
  CHECK(client.conn->StartReading().code() == Status::Code::kFailedPrecondition);
  CHECK_FALSE(client.conn->want_write());
  CHECK(client.conn->peer_address().status().code() == Status::Code::kFailedPrecondition);
  REQUIRE(RunUntil(*loop, [&] { return client.closed.has_value(); }));
  CHECK(client.conn->state() == TcpConnection::State::kClosed);
  client.conn->Close();
  client.conn->Shutdown();
  client.conn->StopReading();
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection refuses a low-water mark above the high-water mark", "[net][tcp][error]") {
  auto loop = MakeLoop();
  Peer client;
  TcpConnection::Options options;
  options.high_water_bytes = 10;
  options.low_water_bytes = 11;
  Result<std::unique_ptr<TcpConnection>> conn =
      TcpConnection::Connect(*loop, Loopback(1), &client, options);
  CHECK(conn.status().code() == Status::Code::kInvalidArgument);
  CloseLoop(*loop);
}

TEST_CASE("Loop::Close closes live connections and tells their delegates", "[net][tcp][loop]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  client.destroy_on_closed = false;
  Connect(*loop, client, Loopback(server.listener->port()));
  REQUIRE(client.conn->StartReading().ok());
  REQUIRE(RunUntil(*loop, [&] { return client.connected && !server.peers.empty(); }));
  server.peers[0]->destroy_on_closed = false;
  REQUIRE(client.conn->Write(Bytes(100000, 4)).ok());
  CloseLoop(*loop);  // nobody closed anything
  REQUIRE(client.closed.has_value());
  CHECK(client.closed->code() == Status::Code::kClosed);
  CHECK(client.closed->message() == "the loop is closing");
  CHECK(server.peers[0]->closed.has_value());
  // The owners outlive the loop and are destroyed safely afterwards.
  CHECK(client.conn->state() == TcpConnection::State::kClosed);
  client.conn.reset();
  server.peers.clear();
  server.listener.reset();
}

TEST_CASE("Loop::Close finishes even if a delegate calls Stop while it closes",
          "[net][tcp][loop]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  struct Stopper final : TcpConnection::Delegate {
    Loop* loop = nullptr;
    std::unique_ptr<TcpConnection> conn;
    int closed = 0;
    void OnConnected() override {}
    void OnRead(ByteView) override {}
    void OnWritable() override {}
    void OnClosed(Status) override {
      ++closed;
      loop->Stop();
      conn.reset();
    }
  } stopper;
  stopper.loop = loop.get();
  Result<std::unique_ptr<TcpConnection>> conn =
      TcpConnection::Connect(*loop, Loopback(server.listener->port()), &stopper);
  REQUIRE(conn.ok());
  stopper.conn = std::move(*conn);
  REQUIRE(RunUntil(*loop, [&] { return !server.peers.empty(); }));
  REQUIRE(stopper.conn->Write(Bytes(1000, 1)).ok());
  CloseLoop(*loop);
  CHECK(stopper.closed == 1);
}

TEST_CASE("TcpConnection echo over IPv6 loopback", "[net][tcp][ipv6]") {
  auto loop = MakeLoop();
  Server server;
  server.echo = true;
  Result<Address> any6 = Address::Parse("[::1]:0");
  REQUIRE(any6.ok());
  Result<std::unique_ptr<TcpListener>> listener = TcpListener::Create(*loop, *any6, &server);
  if (!listener.ok()) {
    CloseLoop(*loop);
    CONFAB_SKIP("no IPv6 loopback here: " + listener.status().ToString());
  }
  server.listener = std::move(*listener);
  Result<Address> to = Address::FromIp("::1", server.listener->port());
  REQUIRE(to.ok());
  Peer client;
  Connect(*loop, client, *to);
  REQUIRE(client.conn->StartReading().ok());
  REQUIRE(RunUntil(*loop, [&] { return client.connected; }));
  REQUIRE(client.conn->Write(ToBytes(AsBytes("v6"))).ok());
  REQUIRE(RunUntil(*loop, [&] { return client.received.size() == 2; }));
  Result<Address> peer = client.conn->peer_address();
  REQUIRE(peer.ok());
  CHECK(peer->is_ipv6());
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection binds to a chosen local address before connecting", "[net][tcp]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  TcpConnection::Options options;
  Result<Address> local = Address::FromIp("127.0.0.2", 0);  // all of 127/8 is loopback
  REQUIRE(local.ok());
  options.bind_local = *local;
  Peer client;
  Connect(*loop, client, Loopback(server.listener->port()), options);
  REQUIRE(RunUntil(*loop, [&] { return client.connected && server.peers.size() == 1; }));
  Result<Address> client_local = client.conn->local_address();
  Result<Address> server_sees = server.peers[0]->conn->peer_address();
  REQUIRE(client_local.ok());
  REQUIRE(server_sees.ok());
  CHECK(client_local->ip() == "127.0.0.2");
  CHECK(client_local->port() != 0);
  CHECK(server_sees->ToString() == client_local->ToString());
  client.conn->Close();
  REQUIRE(RunUntil(*loop, [&] { return client.closed && server.peers[0]->closed; }));
  CloseLoop(*loop);
}

TEST_CASE("TcpConnection refuses a bind_local it cannot use", "[net][tcp][error]") {
  auto loop = MakeLoop();
  Server server;
  Listen(*loop, server);
  Peer client;
  SECTION("another family") {
    Result<Address> v6 = Address::FromIp("::1", 0);
    REQUIRE(v6.ok());
    TcpConnection::Options options;
    options.bind_local = *v6;
    auto conn = TcpConnection::Connect(*loop, Loopback(server.listener->port()), &client, options);
    CHECK(conn.status().code() == Status::Code::kInvalidArgument);
  }
  SECTION("an address that is not this host's") {
    Result<Address> remote = Address::FromIp("192.0.2.1", 0);  // TEST-NET-1
    REQUIRE(remote.ok());
    TcpConnection::Options options;
    options.bind_local = *remote;
    auto conn = TcpConnection::Connect(*loop, Loopback(server.listener->port()), &client, options);
    CHECK_FALSE(conn.ok());
    CHECK(std::string(conn.status().message()).find("bind to 192.0.2.1:0") != std::string::npos);
  }
  RunUntil(
      *loop, [] { return false; }, 50);    // time for any stray upcall
  CHECK_FALSE(client.closed.has_value());  // none for what failed at once
  CHECK(server.peers.empty());
  server.listener.reset();
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::net
