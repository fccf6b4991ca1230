#include "peer/reach/udp_paths.h"

#include <memory>
#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include "common/base/proto_bytes.h"
#include "common/crypto/noise_primitives.h"
#include "peer/reach/dialer.h"
#include "proto/peer.pb.h"

#include "tests/unit/net/net_test_util.h"

namespace confab::peer {
namespace {

using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;

struct Recorder final : net::StreamDelegate {
  bool connected = false;
  Bytes received;
  std::optional<Status> closed;
  net::ByteStream* stream = nullptr;  // set: says "hello" on connect, as a channel does
  void OnConnected() override {
    connected = true;
    if (stream != nullptr)
      CHECK(stream->Write(ToBytes(AsBytes("hello"))).ok());
  }
  void OnRead(ByteView data) override { received.insert(received.end(), data.begin(), data.end()); }
  void OnWritable() override {}
  void OnClosed(Status status) override { closed = std::move(status); }
};

// A node's UDP side with every hello accepted; accepted streams kept here.
struct Side final : UdpPaths::Delegate {
  crypto::X25519KeyPair key;
  std::unique_ptr<UdpPaths> paths;
  std::vector<std::unique_ptr<udp::SessionStream>> accepted;
  std::vector<std::unique_ptr<Recorder>> accepted_recorders;

  Status CheckUdpHello(proto::Purpose, ByteView, const crypto::X25519PublicKey&,
                       const net::Address&) override {
    return Status::Ok();
  }
  void OnUdpStream(proto::Purpose, std::unique_ptr<udp::SessionStream> stream,
                   const net::Address&) override {
    accepted_recorders.push_back(std::make_unique<Recorder>());
    stream->set_delegate(accepted_recorders.back().get());
    CHECK(stream->StartReading().ok());
    accepted.push_back(std::move(stream));
  }
};

TEST_CASE("network.path words parse and print back", "[peer][udp]") {
  for (PathPolicy p :
       {PathPolicy::kAuto, PathPolicy::kTcpOnly, PathPolicy::kUdpOnly, PathPolicy::kRelayOnly}) {
    Result<PathPolicy> parsed = ParsePathPolicy(PathPolicyName(p));
    REQUIRE(parsed.ok());
    CHECK(*parsed == p);
  }
  Result<PathPolicy> bad = ParsePathPolicy("quic");
  CHECK(bad.status().code() == Status::Code::kInvalidArgument);
  CHECK(std::string(bad.status().message()).find("\"auto\", \"tcp\", \"udp\" or \"relay\"") !=
        std::string::npos);
}

TEST_CASE("UdpPaths: dials that cross end with one working session each way", "[peer][udp]") {
  auto loop = MakeLoop();
  Side a, b;
  for (Side* side : {&a, &b}) {
    auto signing = crypto::SigningKey::Generate();
    REQUIRE(signing.ok());
    side->key = signing->DeriveX25519();
    UdpPathsParams params;
    params.local_static = side->key;
    params.certificate = ToBytes(AsBytes("cert"));
    auto paths = UdpPaths::Create(*loop, *net::Address::Parse("127.0.0.1:0"), params, side);
    REQUIRE(paths.ok());
    side->paths = std::move(*paths);
  }
  const net::Address a_at = *a.paths->local_address();
  const net::Address b_at = *b.paths->local_address();

  // Both dial chat (slot 0) at the same moment, as two nodes with messages
  // for each other do after a punch.
  Recorder a_rec, b_rec;
  auto a_dial = a.paths->Dial(b.key.public_key, {b_at}, proto::PURPOSE_CHAT);
  auto b_dial = b.paths->Dial(a.key.public_key, {a_at}, proto::PURPOSE_CHAT);
  REQUIRE(a_dial.ok());
  REQUIRE(b_dial.ok());
  (*a_dial)->set_delegate(&a_rec);
  (*b_dial)->set_delegate(&b_rec);
  a_rec.stream = a_dial->get();
  b_rec.stream = b_dial->get();
  REQUIRE((*a_dial)->StartReading().ok());
  REQUIRE((*b_dial)->StartReading().ok());

  // One side's dial connects; the other's gives way (kCrossedDial) to the
  // session it accepted.
  REQUIRE(RunUntil(*loop, [&] {
    return (a_rec.connected && !b.accepted.empty()) || (b_rec.connected && !a.accepted.empty());
  }));
  const bool a_won = a_rec.connected;
  Recorder& loser_rec = a_won ? b_rec : a_rec;
  REQUIRE(RunUntil(*loop, [&] { return loser_rec.closed.has_value(); }));
  CHECK(loser_rec.closed->message() == kCrossedDial);
  CHECK_FALSE(loser_rec.connected);

  // The winner's first bytes (sent on connect, as a channel's hello is)
  // reach the accepted stream, not the abandoned dial, and the answer comes
  // back. (Only reordering could make them arrive before the packet that
  // opens the session; Abandon leaves them to the new stream then too.)
  Recorder& winner_rec = a_won ? a_rec : b_rec;
  Side& acceptor = a_won ? b : a;
  REQUIRE(RunUntil(*loop, [&] {
    return !acceptor.accepted_recorders.empty() &&
           acceptor.accepted_recorders[0]->received.size() == 5;
  }));
  CHECK(AsChars(acceptor.accepted_recorders[0]->received) == "hello");
  REQUIRE(acceptor.accepted[0]->Write(ToBytes(AsBytes("welcome"))).ok());
  REQUIRE(RunUntil(*loop, [&] { return winner_rec.received.size() == 7; }));
  CHECK(loser_rec.received.empty());

  a.paths->Close();
  b.paths->Close();
  a_dial->reset();
  b_dial->reset();
  a.accepted.clear();
  b.accepted.clear();
  a.paths.reset();
  b.paths.reset();
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::peer

namespace confab::peer {
namespace {

TEST_CASE("ChannelTransports: an abandoned dial closes its connection and UDP session",
          "[peer][udp][dialer]") {
  auto loop = MakeLoop();
  Side a;
  auto signing = crypto::SigningKey::Generate();
  REQUIRE(signing.ok());
  a.key = signing->DeriveX25519();
  UdpPathsParams params;
  params.local_static = a.key;
  params.certificate = ToBytes(AsBytes("cert"));
  auto paths = UdpPaths::Create(*loop, *net::Address::Parse("127.0.0.1:0"), params, &a);
  REQUIRE(paths.ok());
  a.paths = std::move(*paths);
  // Nobody answers there: the dials stay pending until abandoned.
  auto silent = UdpPaths::Create(*loop, *net::Address::Parse("127.0.0.1:0"), params, &a);
  REQUIRE(silent.ok());
  const net::Address nowhere = *(*silent)->local_address();
  (*silent)->Close();

  ChannelTransports transports(*loop, a.paths.get());
  bool called = false;
  channel::InitiatorParams initiator;
  initiator.purpose = proto::PURPOSE_CHAT;
  initiator.local_static = a.key.secret_key;
  initiator.local_static_public = a.key.public_key;
  initiator.remote_static = a.key.public_key;
  udp::SessionId session = 0;
  auto udp_dial = transports.DialUdp(
      {nowhere}, initiator, &session,
      [&](Result<std::unique_ptr<channel::ChannelConnection>>) { called = true; });
  REQUIRE(udp_dial.ok());
  CHECK(session != 0);
  // A TCP dial to a listener that never answers the handshake.
  struct Quiet final : net::TcpListener::Delegate {
    void OnIncoming(Status) override {}
  } quiet;
  auto listener = net::TcpListener::Create(*loop, *net::Address::Parse("127.0.0.1:0"), &quiet);
  REQUIRE(listener.ok());
  auto tcp_dial = transports.DialTcp(
      *(*listener)->local_address(), initiator, {},
      [&](Result<std::unique_ptr<channel::ChannelConnection>>) { called = true; });
  REQUIRE(tcp_dial.ok());
  RunUntil(
      *loop, [] { return false; }, 100);
  CHECK(transports.jobs() == 2);
  CHECK(a.paths->stream_count() == 1);

  udp_dial->reset();
  tcp_dial->reset();
  CHECK(RunUntil(
      *loop, [&] { return transports.jobs() == 0 && a.paths->stream_count() == 0; }, 2000));
  CHECK_FALSE(called);  // abandoned dials report nothing
  CHECK_FALSE(a.paths->View(session).has_value());
  (*listener)->Close();
  a.paths->Close();
  CloseLoop(*loop);
}

// A peer that speaks the endpoint directly, as a modified node could: its
// hello says chat, and it writes on the file stream as well.
struct RawPeer final : udp::Endpoint::Delegate {
  std::unique_ptr<udp::Endpoint> endpoint;
  std::optional<udp::SessionId> open;
  std::optional<Status> closed;
  Result<Bytes> OnIncomingSession(const udp::PublicKey&, ByteView, const net::Address&) override {
    return Status::PermissionDenied("dials only");
  }
  void OnSessionOpen(udp::SessionId id, ByteView) override { open = id; }
  void OnSessionReadable(udp::SessionId, uint8_t) override {}
  void OnSessionWritable(udp::SessionId, uint8_t) override {}
  void OnSessionClosed(udp::SessionId, Status why) override { closed = std::move(why); }
};

TEST_CASE("UdpPaths: bytes on a stream the hello's purpose did not open close the session",
          "[peer][udp]") {
  auto loop = MakeLoop();
  Side b;
  auto signing = crypto::SigningKey::Generate();
  REQUIRE(signing.ok());
  b.key = signing->DeriveX25519();
  UdpPathsParams params;
  params.local_static = b.key;
  params.certificate = ToBytes(AsBytes("cert"));
  auto paths = UdpPaths::Create(*loop, *net::Address::Parse("127.0.0.1:0"), params, &b);
  REQUIRE(paths.ok());
  b.paths = std::move(*paths);

  RawPeer raw;
  auto raw_signing = crypto::SigningKey::Generate();
  REQUIRE(raw_signing.ok());
  const crypto::X25519KeyPair raw_key = raw_signing->DeriveX25519();
  auto static_key = crypto::noise::KeyPairFromPrivate(
      ByteView(raw_key.secret_key.data(), raw_key.secret_key.size()));
  REQUIRE(static_key.ok());
  udp::EndpointOptions options{.bind = *net::Address::Parse("127.0.0.1:0"),
                               .static_key = std::move(*static_key),
                               .connection = {},
                               .monotonic_us = {},
                               .wall_us = {}};
  auto endpoint = udp::Endpoint::Create(*loop, std::move(options), &raw);
  REQUIRE(endpoint.ok());
  raw.endpoint = std::move(*endpoint);

  proto::UdpHello hello;
  hello.set_purpose(proto::PURPOSE_CHAT);
  hello.set_certificate("cert");
  udp::PublicKey b_public{};
  std::copy(b.key.public_key.begin(), b.key.public_key.end(), b_public.begin());
  auto id = raw.endpoint->Connect({*b.paths->local_address()}, b_public, SerializeToBytes(hello),
                                  /*slot=*/0);
  REQUIRE(id.ok());
  REQUIRE(RunUntil(*loop, [&] { return raw.open.has_value() || raw.closed.has_value(); }));
  REQUIRE(raw.open.has_value());

  // What the chat stream carries is delivered as ever.
  CHECK(raw.endpoint->Write(*id, datagram::kChatStream, AsBytes("hello")) == 5);
  REQUIRE(RunUntil(*loop, [&] {
    return !b.accepted_recorders.empty() && b.accepted_recorders[0]->received.size() == 5;
  }));
  CHECK_FALSE(b.accepted_recorders[0]->closed.has_value());

  // The file stream was never named: the session ends, and says why.
  CHECK(raw.endpoint->Write(*id, datagram::kFileStream, AsBytes("smuggled")) == 8);
  REQUIRE(RunUntil(*loop, [&] {
    return b.accepted_recorders[0]->closed.has_value() && raw.closed.has_value();
  }));
  CHECK(b.accepted_recorders[0]->closed->code() == Status::Code::kPermissionDenied);
  CHECK(std::string(b.accepted_recorders[0]->closed->message()).find("stream 1") !=
        std::string::npos);
  CHECK(std::string(raw.closed->message()).find("not open for this session's purpose") !=
        std::string::npos);
  CHECK(AsChars(b.accepted_recorders[0]->received) == "hello");

  raw.endpoint.reset();
  b.paths->Close();
  b.accepted.clear();
  b.paths.reset();
  CloseLoop(*loop);
}

}  // namespace
}  // namespace confab::peer
