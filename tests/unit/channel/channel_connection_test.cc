#include "common/channel/channel_connection.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/crypto/noise_primitives.h"
#include "common/net/loop.h"

namespace confab::channel {
namespace {

namespace noise = crypto::noise;

// A responder that accepts hellos (or refuses them) and echoes messages.
class Server : public net::TcpListener::Delegate, public ChannelConnection::Delegate {
 public:
  Server(net::Loop& loop, const noise::KeyPair& keys) : keys_(keys) {
    auto listener = net::TcpListener::Create(loop, *net::Address::Parse("127.0.0.1:0"), this);
    REQUIRE(listener.ok());
    listener_ = std::move(listener).value();
  }
  uint16_t port() const { return listener_->port(); }

  void OnIncoming(Status status) override {
    REQUIRE(status.ok());
    ResponderParams params;
    params.local_static = keys_.private_key;
    params.purposes = {proto::PURPOSE_TRACKER};
    auto c = ChannelConnection::Accept(*listener_, std::move(params), this);
    REQUIRE(c.ok());
    connections_.push_back(std::move(c).value());
  }
  Result<ChannelConnection::HelloAnswer> OnHello(ChannelConnection&, const Event& hello) override {
    if (refuse)
      return Status::PermissionDenied("not today");
    ChannelConnection::HelloAnswer answer;
    answer.payload = hello.payload;  // echo
    return answer;
  }
  Status OnWelcome(ChannelConnection&, ByteView) override { return Status::Ok(); }
  Status OnMessage(ChannelConnection& c, ByteView plaintext) override {
    if (AsChars(plaintext) == "bye") {
      c.Shutdown();
      return Status::Ok();
    }
    return c.Send(plaintext);
  }
  void OnClosed(ChannelConnection&, Status) override {
    ++closed;
    listener_->Close();
  }

  bool refuse = false;
  int closed = 0;

 private:
  const noise::KeyPair& keys_;
  std::unique_ptr<net::TcpListener> listener_;
  std::vector<std::unique_ptr<ChannelConnection>> connections_;
};

class Client : public ChannelConnection::Delegate {
 public:
  Result<ChannelConnection::HelloAnswer> OnHello(ChannelConnection&, const Event&) override {
    return Status::FailedPrecondition("client");
  }
  Status OnWelcome(ChannelConnection& c, ByteView payload) override {
    welcome = std::string(AsChars(payload));
    if (send_all) {
      const std::string m0 = "m0", m1 = "m1", m2(60000, 'x');
      const ByteView all[] = {AsBytes(m0), AsBytes(m1), AsBytes(m2)};
      return c.SendAll(all);
    }
    for (int i = 0; i < 3; ++i)
      CONFAB_RETURN_IF_ERROR(c.Send(AsBytes("m" + std::to_string(i))));
    return Status::Ok();
  }
  Status OnMessage(ChannelConnection& c, ByteView plaintext) override {
    echoes.emplace_back(AsChars(plaintext));
    if (echoes.size() == 3)
      return c.Send(AsBytes("bye"));
    return Status::Ok();
  }
  void OnClosed(ChannelConnection&, Status status) override { closed = status; }

  bool send_all = false;  // the three messages in one SendAll
  std::string welcome;
  std::vector<std::string> echoes;
  std::optional<Status> closed;
};

InitiatorParams Params(const noise::KeyPair& client, const noise::KeyPair& server) {
  InitiatorParams p;
  p.purpose = proto::PURPOSE_TRACKER;
  p.local_static = client.private_key;
  p.remote_static = server.public_key;
  p.payload = ToBytes(AsBytes("hi"));
  return p;
}

TEST_CASE("A channel connection handshakes and exchanges messages over loopback TCP",
          "[channel][net]") {
  auto loop = net::Loop::Create();
  REQUIRE(loop.ok());
  noise::KeyPair server_keys = noise::GenerateKeyPair();
  noise::KeyPair client_keys = noise::GenerateKeyPair();
  Server server(**loop, server_keys);
  Client client;
  auto address = net::Address::Parse("127.0.0.1:" + std::to_string(server.port()));
  auto c = ChannelConnection::Connect(**loop, *address, Params(client_keys, server_keys), &client);
  REQUIRE(c.ok());
  REQUIRE((*loop)->Run().ok());
  CHECK(client.welcome == "hi");
  CHECK(client.echoes == std::vector<std::string>{"m0", "m1", "m2"});
  REQUIRE(client.closed.has_value());
  CHECK(client.closed->code() == Status::Code::kClosed);  // the server shut down
  CHECK(server.closed == 1);
  c->reset();
  CHECK((*loop)->Close().ok());
}

TEST_CASE("SendAll seals several messages into one write, in order", "[channel][net]") {
  auto loop = net::Loop::Create();
  REQUIRE(loop.ok());
  noise::KeyPair server_keys = noise::GenerateKeyPair();
  noise::KeyPair client_keys = noise::GenerateKeyPair();
  Server server(**loop, server_keys);
  Client client;
  client.send_all = true;
  auto address = net::Address::Parse("127.0.0.1:" + std::to_string(server.port()));
  auto c = ChannelConnection::Connect(**loop, *address, Params(client_keys, server_keys), &client);
  REQUIRE(c.ok());
  REQUIRE((*loop)->Run().ok());
  CHECK(client.echoes == std::vector<std::string>{"m0", "m1", std::string(60000, 'x')});
  c->reset();
  CHECK((*loop)->Close().ok());
}

TEST_CASE("A refused hello closes the connection with nothing said", "[channel][net][error]") {
  auto loop = net::Loop::Create();
  REQUIRE(loop.ok());
  noise::KeyPair server_keys = noise::GenerateKeyPair();
  noise::KeyPair client_keys = noise::GenerateKeyPair();
  Server server(**loop, server_keys);
  server.refuse = true;
  Client client;
  auto address = net::Address::Parse("127.0.0.1:" + std::to_string(server.port()));
  auto c = ChannelConnection::Connect(**loop, *address, Params(client_keys, server_keys), &client);
  REQUIRE(c.ok());
  REQUIRE((*loop)->Run().ok());
  CHECK(client.welcome.empty());
  REQUIRE(client.closed.has_value());
  CHECK_FALSE(client.closed->ok());
  c->reset();
  CHECK((*loop)->Close().ok());
}

TEST_CASE("Connecting to a closed port reports Unavailable", "[channel][net][error]") {
  auto loop = net::Loop::Create();
  REQUIRE(loop.ok());
  uint16_t port = 0;
  {
    noise::KeyPair k = noise::GenerateKeyPair();
    Server probe(**loop, k);
    port = probe.port();
  }
  REQUIRE((*loop)->Run().ok());  // let the probe listener close
  noise::KeyPair a = noise::GenerateKeyPair(), b = noise::GenerateKeyPair();
  Client client;
  auto address = net::Address::Parse("127.0.0.1:" + std::to_string(port));
  auto c = ChannelConnection::Connect(**loop, *address, Params(a, b), &client);
  REQUIRE(c.ok());
  REQUIRE((*loop)->Run().ok());
  REQUIRE(client.closed.has_value());
  CHECK(client.closed->code() == Status::Code::kUnavailable);
  c->reset();
  CHECK((*loop)->Close().ok());
}

}  // namespace
}  // namespace confab::channel
