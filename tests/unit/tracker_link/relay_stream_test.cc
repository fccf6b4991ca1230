// The relay through the tracker (issue 15), tracker side and leg, with real
// sockets on loopback: the real TrackerServer, TrackerLinks asking for and
// being told of relays, RelayStreams dialing the slot, and the members' own
// Noise channel (ChannelConnection over the stream) running inside.
#include "peer/tracker_link/relay_stream.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/base/proto_bytes.h"
#include "peer/contacts/contact_book.h"
#include "peer/reach/peer_port.h"
#include "peer/store/peer_database.h"
#include "proto/tracker.pb.h"

#include "tests/unit/tracker_link/tracker_fixture.h"

namespace confab::peer {
namespace {

using namespace confab::peer::testing;  // NOLINT: the fixture
using Catch::Contains;

// One member's end of the members' own channel, inside a relayed stream.
struct Inner final : channel::ChannelConnection::Delegate {
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event& hello) override {
    hello_from = hello.remote_static;
    return channel::ChannelConnection::HelloAnswer{};
  }
  Status OnWelcome(channel::ChannelConnection&, ByteView) override {
    welcomed = true;
    return Status::Ok();
  }
  Status OnMessage(channel::ChannelConnection&, ByteView plaintext) override {
    ++messages;
    last.assign(AsChars(plaintext).begin(), AsChars(plaintext).end());
    received += plaintext.size();
    return Status::Ok();
  }
  void OnClosed(channel::ChannelConnection&, Status status) override { closed = status; }

  std::unique_ptr<channel::ChannelConnection> connection;
  std::optional<crypto::noise::PublicKey> hello_from;
  bool welcomed = false;
  int messages = 0;
  std::string last;
  size_t received = 0;
  std::optional<Status> closed;
};

// Waits for a callee's leg to open before the channel takes it.
struct Opener final : net::StreamDelegate {
  void OnConnected() override { connected = true; }
  void OnRead(ByteView) override {}
  void OnWritable() override {}
  void OnClosed(Status status) override { closed = status; }
  bool connected = false;
  std::optional<Status> closed;
};

RelayStreamParams LegParams(Fixture& f, const MemberKeys& m, uint64_t slot) {
  auto at = net::Address::FromIp("127.0.0.1", f.tracker.port());
  REQUIRE(at.ok());
  RelayStreamParams p{*at};
  p.tracker_static_key = f.tracker.state().noise_static().public_key;
  p.local_static = m.key.DeriveX25519();
  p.slot = slot;
  return p;
}

// A relayed pair from `caller` to `callee`, both with live sessions, and the
// members' chat channel established inside it.
struct Pair {
  Inner caller_side, callee_side;
  uint64_t slot = 0;
};

void Connect(Fixture& f, Client& caller_link, const MemberKeys& caller, Client& callee_link,
             const MemberKeys& callee, Pair& pair) {
  const size_t offers = caller_link.rec.relay_offers.size();
  const size_t notices = callee_link.rec.relay_notices.size();
  auto request = caller_link.link->RequestRelay(callee.name);
  INFO(request.status().ToString());
  REQUIRE(request.ok());
  REQUIRE(f.Run([&] {
    return caller_link.rec.relay_offers.size() > offers &&
           callee_link.rec.relay_notices.size() > notices;
  }));
  const proto::RelayOffer offer = caller_link.rec.relay_offers.back();
  INFO(offer.refusal());
  REQUIRE(offer.accepted());
  CHECK(offer.request_id() == *request);
  const proto::RelayNotice notice = callee_link.rec.relay_notices.back();
  CHECK(notice.name() == caller.name);
  REQUIRE(notice.slot() == offer.slot());
  pair.slot = offer.slot();

  // The caller dials and starts its channel at once; the tracker holds its
  // first bytes until the callee's leg is there.
  auto caller_leg = RelayStream::Dial(*f.loop, LegParams(f, caller, pair.slot), nullptr);
  REQUIRE(caller_leg.ok());
  channel::InitiatorParams init;
  init.purpose = proto::PURPOSE_CHAT;
  init.local_static = caller.key.DeriveX25519().secret_key;
  init.remote_static = callee.key.DeriveX25519().public_key;
  init.payload = caller.certificate;
  auto out = channel::ChannelConnection::ConnectOver(std::move(*caller_leg), std::nullopt,
                                                     std::move(init), &pair.caller_side);
  REQUIRE(out.ok());
  pair.caller_side.connection = std::move(*out);

  Opener opener;
  auto callee_leg = RelayStream::Dial(*f.loop, LegParams(f, callee, pair.slot), &opener);
  REQUIRE(callee_leg.ok());
  REQUIRE(f.Run([&] { return opener.connected || opener.closed; }));
  REQUIRE(opener.connected);
  channel::ResponderParams respond;
  respond.local_static = callee.key.DeriveX25519().secret_key;
  respond.purposes = {proto::PURPOSE_CHAT};
  auto in = channel::ChannelConnection::AcceptOver(std::move(*callee_leg), std::nullopt,
                                                   std::move(respond), &pair.callee_side);
  REQUIRE(in.ok());
  pair.callee_side.connection = std::move(*in);
  REQUIRE(f.Run([&] { return pair.caller_side.welcomed || pair.caller_side.closed; }));
  REQUIRE(pair.caller_side.welcomed);
  REQUIRE(pair.callee_side.hello_from.has_value());
  CHECK(*pair.callee_side.hello_from == caller.key.DeriveX25519().public_key);
}

Bytes Text(const std::string& s) {
  return ToBytes(AsBytes(s));
}

// The value of one metrics line ("name{labels} value"), or -1.
double MetricValue(const std::string& metrics, const std::string& series) {
  const size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos)
    return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

// Revokes `name` as ops do: an admin request with the tracker's own key.
void RevokeAsOps(Fixture& f, const std::string& name) {
  struct Admin final : channel::ChannelConnection::Delegate {
    Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                            const channel::Event&) override {
      return Status::FailedPrecondition("initiator");
    }
    Status OnWelcome(channel::ChannelConnection& c, ByteView) override {
      proto::AdminRequest request;
      request.mutable_revoke()->set_name(name);
      request.mutable_revoke()->set_reason("left");
      return c.Send(SerializeToBytes(request));
    }
    Status OnMessage(channel::ChannelConnection&, ByteView plaintext) override {
      answered = ParseFromBytes(plaintext, &response);
      return Status::Ok();
    }
    void OnClosed(channel::ChannelConnection&, Status) override { closed = true; }
    std::string name;
    proto::AdminResponse response;
    bool answered = false;
    bool closed = false;
  } admin;
  admin.name = name;
  auto at = net::Address::FromIp("127.0.0.1", f.tracker.port());
  REQUIRE(at.ok());
  channel::InitiatorParams init;
  init.purpose = proto::PURPOSE_ADMIN;
  init.local_static = f.tracker.state().noise_static().secret_key;
  init.remote_static = f.tracker.state().noise_static().public_key;
  auto c = channel::ChannelConnection::Connect(*f.loop, *at, std::move(init), &admin);
  REQUIRE(c.ok());
  REQUIRE(f.Run([&] { return admin.closed; }));
  REQUIRE(admin.answered);
  INFO(admin.response.error());
  REQUIRE(admin.response.ok());
}

TEST_CASE("Two members' own channel runs through the relay, both ways, and the tracker counts it",
          "[relay_stream]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  a.link->Start();
  b.link->Start();
  REQUIRE(f.Run([&] { return a.link->connected() && b.link->connected(); }));
  Pair pair;
  Connect(f, a, alice, b, bob, pair);

  REQUIRE(pair.caller_side.connection->Send(Text("hello bob")).ok());
  REQUIRE(f.Run([&] { return pair.callee_side.messages == 1; }));
  CHECK(pair.callee_side.last == "hello bob");
  REQUIRE(pair.callee_side.connection->Send(Text("hello alice")).ok());
  REQUIRE(f.Run([&] { return pair.caller_side.messages == 1; }));
  CHECK(pair.caller_side.last == "hello alice");

  // A megabyte in channel-sized messages arrives whole.
  const Bytes block(60000, 0x5a);
  for (int i = 0; i < 20; ++i)
    REQUIRE(pair.caller_side.connection->Send(block).ok());
  REQUIRE(f.Run([&] { return pair.callee_side.received >= 9 + 20 * block.size(); }, 10000));
  CHECK(pair.callee_side.received == 9 + 20 * block.size());

  const std::string metrics = f.tracker.server().Metrics();
  CHECK(MetricValue(metrics, "confab_tracker_relay_pairs") == 1);
  CHECK(MetricValue(metrics, "confab_tracker_relay_pairs_opened_total") == 1);
  // Everything the members' channel carried, with its own framing and tags.
  CHECK(MetricValue(metrics, "confab_tracker_relay_bytes_total") > 20.0 * block.size());

  // One side closing ends the other.
  pair.caller_side.connection->Close();
  REQUIRE(f.Run([&] { return pair.callee_side.closed.has_value(); }));
  REQUIRE(f.Run([&] {
    return MetricValue(f.tracker.server().Metrics(), "confab_tracker_relay_pairs") == 0;
  }));
}

TEST_CASE("Only the two members of a pair may take its slot", "[relay_stream][error]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  MemberKeys carol = f.tracker.Enroll("carol");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  Client& c = f.Add(f.tracker.ParamsFor(carol, 3));
  for (Client* client : {&a, &b, &c})
    client->link->Start();
  REQUIRE(f.Run([&] { return a.link->connected() && b.link->connected() && c.link->connected(); }));
  REQUIRE(a.link->RequestRelay("bob").ok());
  REQUIRE(f.Run([&] { return !a.rec.relay_offers.empty(); }));
  const uint64_t slot = a.rec.relay_offers[0].slot();
  CHECK(c.rec.relay_notices.empty());  // only the callee is told

  Opener intruder;
  auto leg = RelayStream::Dial(*f.loop, LegParams(f, carol, slot), &intruder);
  REQUIRE(leg.ok());
  REQUIRE(f.Run([&] { return intruder.closed.has_value(); }));
  CHECK_FALSE(intruder.connected);
  CHECK(intruder.closed->code() == Status::Code::kPermissionDenied);
  CHECK_THAT(intruder.closed->ToString(), Contains("relay: wrong slot"));

  // A slot nobody was given.
  Opener guess;
  auto guessed = RelayStream::Dial(*f.loop, LegParams(f, bob, slot + 100), &guess);
  REQUIRE(guessed.ok());
  REQUIRE(f.Run([&] { return guess.closed.has_value(); }));
  CHECK_THAT(guess.closed->ToString(), Contains("relay: wrong slot"));
  CHECK(MetricValue(f.tracker.server().Metrics(),
                    "confab_tracker_relay_refusals_total{reason=\"wrong slot\"}") == 2);

  // The intruders changed nothing: the pair still opens.
  Pair pair;
  Connect(f, a, alice, b, bob, pair);
}

TEST_CASE("A relay to a member who is offline, or from a tracker with the relay off, is refused",
          "[relay_stream][error]") {
  SECTION("offline: the tracker's offer says so") {
    Fixture f;
    MemberKeys alice = f.tracker.Enroll("alice");
    f.tracker.Enroll("bob");
    Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
    a.link->Start();
    REQUIRE(f.Run([&] { return a.link->connected(); }));
    REQUIRE(a.link->RequestRelay("bob").ok());
    REQUIRE(f.Run([&] { return !a.rec.relay_offers.empty(); }));
    CHECK_FALSE(a.rec.relay_offers[0].accepted());
    CHECK(a.rec.relay_offers[0].refusal() == "bob is not online");
    CHECK(MetricValue(f.tracker.server().Metrics(),
                      "confab_tracker_relay_refusals_total{reason=\"not online\"}") == 1);
  }
  SECTION("disabled: the node does not ask") {
    Fixture f([](config::Writer& w) { w.SetBool("relay.enabled", false); });
    MemberKeys alice = f.tracker.Enroll("alice");
    Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
    a.link->Start();
    REQUIRE(f.Run([&] { return a.link->connected(); }));
    auto request = a.link->RequestRelay("bob");
    REQUIRE_FALSE(request.ok());
    CHECK(request.status().message() == "relay: disabled on the tracker");
    f.RunFor(100);
    CHECK(a.rec.relay_offers.empty());
    CHECK(a.rec.errors.empty());
  }
}

TEST_CASE("Revoking a member closes their relayed streams at once", "[relay_stream][error]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  a.link->Start();
  b.link->Start();
  REQUIRE(f.Run([&] { return a.link->connected() && b.link->connected(); }));
  Pair pair;
  Connect(f, a, alice, b, bob, pair);
  RevokeAsOps(f, "bob");
  REQUIRE(f.Run([&] { return pair.caller_side.closed && pair.callee_side.closed; }));
  CHECK(MetricValue(f.tracker.server().Metrics(), "confab_tracker_relay_pairs") == 0);
  // And bob cannot come back through a new slot.
  REQUIRE(a.link->RequestRelay("bob").ok());
  REQUIRE(f.Run([&] { return a.rec.relay_offers.size() == 2; }));
  CHECK_FALSE(a.rec.relay_offers[1].accepted());
}

TEST_CASE("A flooding pair is held to its rate while the tracker's sessions keep answering",
          "[relay_stream][error]") {
  constexpr int64_t kRate = 64 * 1024;  // bytes per second per pair
  Fixture f([](config::Writer& w) { w.SetInt("relay.max_rate_per_pair", kRate); });
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  MemberKeys carol = f.tracker.Enroll("carol");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  Client& c = f.Add(f.tracker.ParamsFor(carol, 3));
  for (Client* client : {&a, &b, &c})
    client->link->Start();
  REQUIRE(f.Run([&] { return a.link->connected() && b.link->connected() && c.link->connected(); }));
  Pair pair;
  Connect(f, a, alice, b, bob, pair);
  const auto started = std::chrono::steady_clock::now();
  const Bytes block(60000, 0x33);
  for (int i = 0; i < 8; ++i)  // 480 KB: several seconds at the limit
    REQUIRE(pair.caller_side.connection->Send(block).ok());
  // Lookups on another session answer meanwhile.
  for (int i = 0; i < 3; ++i) {
    auto id = c.link->Lookup("alice");
    REQUIRE(id.ok());
    REQUIRE(f.Run([&] { return c.rec.lookups.size() == static_cast<size_t>(i + 1); }));
    CHECK(c.rec.lookups.back().found());
  }
  f.RunFor(500);
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // At most the burst (one second's worth) plus the rate since, plus one
  // chunk on its way and the handshake's bytes.
  const double allowed = kRate * (1.0 + elapsed_s) + 20 * 1024;
  INFO("received " << pair.callee_side.received << " in " << elapsed_s << " s");
  CHECK(static_cast<double>(pair.callee_side.received) <= allowed);
  CHECK(pair.callee_side.received < 8 * block.size());
  CHECK(pair.callee_side.received > 0);
}

// Bob's PeerPort, under the tracker's org key, with a chat handler that
// records what it is handed.
struct BobsPort final : PeerPort::Handler, channel::ChannelConnection::Delegate {
  BobsPort(Fixture& f, const MemberKeys& bob) {
    auto opened = OpenPeerDatabase(tmp.File("confab.db"));
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto book = ContactBook::Open(db.get());
    REQUIRE(book.ok());
    contacts = std::move(*book);
    PeerPortParams params;
    params.self_name = bob.name;
    params.local_static = bob.key.DeriveX25519();
    params.certificate = bob.certificate;
    params.org_public_key = f.tracker.state().org_key().public_key();
    auto created = PeerPort::Create(*f.loop, *net::Address::Parse("127.0.0.1:0"), std::move(params),
                                    *contacts);
    REQUIRE(created.ok());
    port = std::move(*created);
    port->SetHandler(proto::PURPOSE_CHAT, this);
  }
  ~BobsPort() override {
    for (auto& c : taken)
      c->Close();
    port->Close();
  }
  Status OnPeerChannel(PeerChannel& channel, ByteView first) override {
    peers.push_back(channel.peer);
    transports.push_back(channel.transport);
    firsts.emplace_back(AsChars(first).begin(), AsChars(first).end());
    channel.connection->set_delegate(this);
    taken.push_back(std::move(channel.connection));
    return Status::Ok();
  }
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("answered before");
  }
  Status OnWelcome(channel::ChannelConnection&, ByteView) override { return Status::Ok(); }
  Status OnMessage(channel::ChannelConnection&, ByteView) override { return Status::Ok(); }
  void OnClosed(channel::ChannelConnection&, Status) override {}

  store::TempDir tmp;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<ContactBook> contacts;
  std::unique_ptr<PeerPort> port;
  std::vector<std::string> peers;
  std::vector<Transport> transports;
  std::vector<std::string> firsts;
  std::vector<std::unique_ptr<channel::ChannelConnection>> taken;
};

// A caller that says "hello" once its channel is up.
struct Greeter final : channel::ChannelConnection::Delegate {
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("an initiator");
  }
  Status OnWelcome(channel::ChannelConnection& c, ByteView) override {
    welcomed = true;
    return c.Send(ToBytes(AsBytes("hello through the tracker")));
  }
  Status OnMessage(channel::ChannelConnection&, ByteView) override { return Status::Ok(); }
  void OnClosed(channel::ChannelConnection&, Status status) override { closed = status; }
  std::unique_ptr<channel::ChannelConnection> connection;
  bool welcomed = false;
  std::optional<Status> closed;
};

TEST_CASE("A relayed stream gets the PeerPort's hello check and reaches the handler marked relay",
          "[relay_stream][peer_port]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  a.link->Start();
  b.link->Start();
  REQUIRE(f.Run([&] { return a.link->connected() && b.link->connected(); }));
  BobsPort bobs(f, bob);

  // alice presents `payload` in her channel's hello, through a fresh slot.
  auto relay_hello = [&](Bytes payload) {
    const size_t notices = b.rec.relay_notices.size();
    REQUIRE(a.link->RequestRelay("bob").ok());
    REQUIRE(f.Run([&] { return b.rec.relay_notices.size() > notices; }));
    const uint64_t slot = b.rec.relay_notices.back().slot();
    auto leg = RelayStream::Dial(*f.loop, LegParams(f, alice, slot), nullptr);
    REQUIRE(leg.ok());
    channel::InitiatorParams init;
    init.purpose = proto::PURPOSE_CHAT;
    init.local_static = alice.key.DeriveX25519().secret_key;
    init.remote_static = bob.key.DeriveX25519().public_key;
    init.payload = std::move(payload);
    auto greeter = std::make_unique<Greeter>();
    auto out = channel::ChannelConnection::ConnectOver(std::move(*leg), std::nullopt,
                                                       std::move(init), greeter.get());
    REQUIRE(out.ok());
    greeter->connection = std::move(*out);
    // Bob's node: the notice's slot, the leg, into the port.
    Opener opener;
    auto bob_leg = RelayStream::Dial(*f.loop, LegParams(f, bob, slot), &opener);
    REQUIRE(bob_leg.ok());
    REQUIRE(f.Run([&] { return opener.connected || opener.closed; }));
    REQUIRE(opener.connected);
    bobs.port->AcceptRelayed(std::move(*bob_leg));
    return greeter;
  };

  SECTION("alice's certificate passes and her first message arrives") {
    auto greeter = relay_hello(alice.certificate);
    REQUIRE(f.Run([&] { return !bobs.peers.empty() || greeter->closed; }));
    REQUIRE(bobs.peers.size() == 1);
    CHECK(bobs.peers[0] == "alice");
    CHECK(bobs.transports[0] == Transport::kRelay);
    CHECK(TransportName(bobs.transports[0]) == "relay");
    CHECK(bobs.firsts[0] == "hello through the tracker");
    CHECK(bobs.port->stats().handed_over == 1);
  }
  SECTION("a certificate that is not hers is refused unanswered, as over TCP") {
    auto greeter = relay_hello(bob.certificate);
    REQUIRE(f.Run([&] { return greeter->closed.has_value(); }, 5000));
    CHECK_FALSE(greeter->welcomed);
    CHECK(bobs.peers.empty());
    CHECK(bobs.port->stats().refused_hello == 1);
  }
}

}  // namespace
}  // namespace confab::peer
