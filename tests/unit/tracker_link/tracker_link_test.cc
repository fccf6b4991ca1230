// TrackerLink against the real tracker (TrackerServer over TrackerService) in
// this process, on the same loop, on loopback: a fresh state directory, the
// org key issuing real certificates, real Noise IK sessions. Only the
// keepalive case uses a stand-in tracker: the real one acknowledges every
// keepalive, so it cannot be made silent without a seam in it.
//
// Small timeouts throughout: the whole file runs in a few seconds.
#include "peer/tracker_link/tracker_link.h"

#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/channel/channel_connection.h"
#include "common/config/config.h"
#include "common/crypto/certificate.h"
#include "common/crypto/invite.h"
#include "common/net/tcp_listener.h"
#include "tracker/server.h"
#include "tracker/state.h"

#include "tests/unit/net/net_test_util.h"
#include "tests/unit/store/temp_dir.h"
#include "tests/unit/tracker_link/tracker_fixture.h"

namespace confab::peer {
namespace {

using namespace confab::peer::testing;  // NOLINT: the fixture
using net::testing::RunUntil;
// A port nothing listens on (bound once, then closed).
uint16_t ClosedPort(net::Loop& loop) {
  struct Ignore final : net::TcpListener::Delegate {
    void OnIncoming(Status) override {}
  } ignore;
  auto at = net::Address::FromIp("127.0.0.1", 0);
  REQUIRE(at.ok());
  auto listener = net::TcpListener::Create(loop, *at, &ignore, 16);
  REQUIRE(listener.ok());
  const uint16_t port = (*listener)->port();
  (*listener)->Close();
  (void)RunUntil(
      loop, [] { return false; }, 10);
  return port;
}

TEST_CASE("TrackerLink connects to the tracker and reports the welcome", "[tracker_link]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  Client& a = f.Add(f.tracker.ParamsFor(alice));
  CHECK_FALSE(a.link->connected());
  a.link->Start();
  REQUIRE(f.Run([&] { return !a.rec.welcomes.empty(); }));
  const proto::SessionWelcome& w = a.rec.welcomes[0];
  CHECK(w.accepted());
  CHECK(w.keepalive_seconds() == 1);
  CHECK(w.udp_token().size() == 16);
  CHECK(w.second_probe_port() == f.tracker.server().second_probe_port());
  CHECK(a.link->connected());
  CHECK(a.link->udp_token() == w.udp_token());
  CHECK(a.link->second_probe_port() == f.tracker.server().second_probe_port());
  CHECK(a.rec.disconnects.empty());
  CHECK(a.rec.refusals.empty());
}

TEST_CASE("TrackerLink replays its announce, status and subscription after the tracker restarts",
          "[tracker_link]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  Client& a = f.Add(f.tracker.ParamsFor(alice, 1));
  Client& b = f.Add(f.tracker.ParamsFor(bob, 2));
  // Set before the first connect: the first welcome replays it too.
  proto::Endpoint e;
  e.set_address("127.0.0.1");
  e.set_port(4242);
  e.set_kind(proto::Endpoint::KIND_LAN);
  a.link->Announce({e});
  a.link->SetStatus(proto::PRESENCE_AWAY, "at lunch");
  a.link->Subscribe({"bob"});
  b.link->Subscribe({"alice"});
  a.link->Start();
  b.link->Start();
  REQUIRE(f.Run([&] {
    const proto::PresenceEntry* seen = b.rec.LastPresence("alice");
    return seen != nullptr && seen->text() == "at lunch";
  }));

  f.tracker.Restart();
  // Both see the session end, retry, and come back to the new tracker.
  REQUIRE(f.Run([&] { return a.rec.welcomes.size() == 2 && b.rec.welcomes.size() == 2; }));
  REQUIRE(!a.rec.disconnects.empty());
  CHECK(a.rec.disconnects[0].was_connected);
  CHECK_FALSE(a.rec.disconnects[0].reason.ok());

  // The new tracker knew nothing of them: what it knows now was replayed.
  b.rec.presence.clear();
  b.rec.lookups.clear();
  auto id = b.link->Lookup("alice");
  REQUIRE(id.ok());
  REQUIRE(f.Run([&] { return !b.rec.lookups.empty(); }));
  const proto::LookupResult& found = b.rec.lookups[0];
  CHECK(found.request_id() == *id);
  REQUIRE(found.found());
  REQUIRE(found.endpoints_size() >= 1);
  bool announced = false;
  for (const proto::Endpoint& got : found.endpoints())
    announced |= got.address() == "127.0.0.1" && got.port() == 4242 && !got.udp();
  CHECK(announced);
  CHECK(found.presence().status() == proto::PRESENCE_AWAY);
  CHECK(found.presence().text() == "at lunch");

  // Alice's subscription to bob holds on the new tracker: bob's next status
  // reaches her.
  a.rec.presence.clear();
  b.link->SetStatus(proto::PRESENCE_BUSY, "in a meeting");
  REQUIRE(f.Run([&] {
    const proto::PresenceEntry* seen = a.rec.LastPresence("bob");
    return seen != nullptr && seen->text() == "in a meeting";
  }));
  CHECK(a.rec.LastPresence("bob")->status() == proto::PRESENCE_BUSY);
}

TEST_CASE(
    "TrackerLink backs off between attempts, doubling from initial_ms to max_ms with bounded "
    "jitter",
    "[tracker_link]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  TrackerLinkParams p = f.tracker.ParamsFor(alice, 7);
  auto closed = net::Address::FromIp("127.0.0.1", ClosedPort(*f.loop));
  REQUIRE(closed.ok());
  p.tracker = *closed;
  p.backoff = BackoffPolicy{10, 80, 0.25};
  Client& a = f.Add(p);
  // The same seed elsewhere: the same delays; another seed: others.
  TrackerLinkParams same = p;
  TrackerLinkParams other = p;
  other.random_seed = 8;
  Client& a2 = f.Add(same);
  Client& a3 = f.Add(other);
  const auto start = Clock::now();
  a.link->Start();
  a2.link->Start();
  a3.link->Start();
  constexpr size_t kAttempts = 8;
  REQUIRE(f.Run(
      [&] {
        return a.rec.disconnects.size() >= kAttempts && a2.rec.disconnects.size() >= kAttempts &&
               a3.rec.disconnects.size() >= kAttempts;
      },
      5000));

  std::vector<uint64_t> delays;
  bool jittered = false;
  for (size_t i = 0; i < kAttempts; ++i) {
    const TrackerLink::Disconnect& d = a.rec.disconnects[i];
    CHECK_FALSE(d.was_connected);
    CHECK(d.reason.code() == Status::Code::kUnavailable);
    const double base = std::min<double>(10.0 * (1 << i), 80.0);
    INFO("attempt " << i << ": retry in " << d.retry_in_ms << " ms, base " << base);
    CHECK(static_cast<double>(d.retry_in_ms) >= base * 0.75 - 1);
    CHECK(static_cast<double>(d.retry_in_ms) <= base * 1.25);
    jittered |= static_cast<double>(d.retry_in_ms) != base;
    delays.push_back(d.retry_in_ms);
  }
  CHECK(jittered);
  for (size_t i = 0; i < kAttempts; ++i) {
    CHECK(a2.rec.disconnects[i].retry_in_ms == delays[i]);
  }
  bool differs = false;
  for (size_t i = 0; i < kAttempts; ++i)
    differs |= a3.rec.disconnects[i].retry_in_ms != delays[i];
  CHECK(differs);

  // The measured gap between two failed attempts is the announced delay (a
  // refused loopback connect adds well under a millisecond; the slack is
  // for a loaded machine). Below it by a few ms too: libuv starts the retry
  // timer from the loop time cached when the iteration began, while the
  // callback's timestamp is taken later in that iteration (2.9 ms later
  // once, under load with the sanitizers).
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  CHECK(ms(a.rec.disconnect_times[0] - start) < 50);
  for (size_t i = 1; i < kAttempts; ++i) {
    const double gap = ms(a.rec.disconnect_times[i] - a.rec.disconnect_times[i - 1]);
    const double announced = static_cast<double>(a.rec.disconnects[i - 1].retry_in_ms);
    INFO("gap " << i << ": " << gap << " ms, announced " << announced << " ms");
    CHECK(gap >= announced - 5);
    CHECK(gap <= announced + 60);
  }
  CHECK_FALSE(a.link->connected());
  CHECK(a.rec.welcomes.empty());
}

TEST_CASE("TrackerLink answers the lookups pending when the session drops with found=false",
          "[tracker_link]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys bob = f.tracker.Enroll("bob");
  Client& a = f.Add(f.tracker.ParamsFor(alice));
  a.link->Start();
  REQUIRE(f.Run([&] { return a.link->connected(); }));
  auto first = a.link->Lookup("bob");
  auto second = a.link->Lookup("carol");
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*first != *second);
  // The tracker goes away before it reads them.
  f.tracker.Stop();
  REQUIRE(f.Run([&] { return a.rec.lookups.size() == 2; }));
  std::set<uint64_t> answered;
  for (const proto::LookupResult& r : a.rec.lookups) {
    answered.insert(r.request_id());
    CHECK_FALSE(r.found());
    CHECK_FALSE(r.error().empty());
  }
  CHECK(answered == std::set<uint64_t>{*first, *second});
  REQUIRE(a.rec.disconnects.size() >= 1);
  CHECK(a.rec.disconnects[0].was_connected);
  CHECK_FALSE(a.link->connected());
  // Not queued while disconnected: the answer would be stale.
  auto offline = a.link->Lookup("bob");
  REQUIRE_FALSE(offline.ok());
  CHECK(offline.status().code() == Status::Code::kUnavailable);
  // Nothing more arrives for them later.
  f.RunFor(50);
  CHECK(a.rec.lookups.size() == 2);
}

TEST_CASE("TrackerLink stops for good when the tracker refuses a revoked member",
          "[tracker_link]") {
  Fixture f;
  MemberKeys mallory = f.tracker.Enroll("mallory");
  REQUIRE(f.tracker.state().directory().Revoke("mallory", NowUnix(), "left").ok());
  Client& m = f.Add(f.tracker.ParamsFor(mallory));
  m.link->Start();
  REQUIRE(f.Run([&] { return !m.rec.refusals.empty(); }));
  CHECK(m.rec.refusals[0].code() == Status::Code::kPermissionDenied);
  CHECK_THAT(m.rec.refusals[0].ToString(), Catch::Contains("revoked"));
  // Several backoff periods later: no reconnect, no other upcall.
  f.RunFor(150);
  CHECK(m.rec.refusals.size() == 1);
  CHECK(m.rec.disconnects.empty());
  CHECK(m.rec.welcomes.empty());
  CHECK_FALSE(m.link->connected());
}

// A stand-in tracker that welcomes each session and then says nothing,
// keepalive acks included.
class SilentTracker final : private net::TcpListener::Delegate,
                            private channel::ChannelConnection::Delegate {
 public:
  explicit SilentTracker(net::Loop& loop) {
    auto key = crypto::SigningKey::Generate();
    REQUIRE(key.ok());
    keys_ = key->DeriveX25519();
    auto at = net::Address::FromIp("127.0.0.1", 0);
    REQUIRE(at.ok());
    auto listener = net::TcpListener::Create(loop, *at, this, 16);
    REQUIRE(listener.ok());
    listener_ = std::move(*listener);
  }
  void Close() {
    listener_->Close();
    for (auto& c : connections_)
      c->Close();
  }
  uint16_t port() const { return listener_->port(); }
  const crypto::X25519PublicKey& public_key() const { return keys_.public_key; }
  int sessions = 0;

 private:
  void OnIncoming(Status status) override {
    if (!status.ok())
      return;
    channel::ResponderParams params;
    params.local_static = keys_.secret_key;
    params.local_static_public = keys_.public_key;
    params.purposes = {proto::PURPOSE_TRACKER};
    auto c = channel::ChannelConnection::Accept(*listener_, std::move(params), this);
    if (c.ok())
      connections_.push_back(std::move(*c));
  }
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    ++sessions;
    proto::SessionWelcome welcome;
    welcome.set_accepted(true);
    welcome.set_udp_token(std::string(16, 'u'));
    welcome.set_keepalive_seconds(1);
    channel::ChannelConnection::HelloAnswer answer;
    answer.payload = Serialize(welcome);
    return answer;
  }
  Status OnWelcome(channel::ChannelConnection&, ByteView) override {
    return Status::FailedPrecondition("a responder gets no welcome");
  }
  Status OnMessage(channel::ChannelConnection&, ByteView) override {
    return Status::Ok();  // keepalives: read, never answered
  }
  void OnClosed(channel::ChannelConnection&, Status) override {}

  crypto::X25519KeyPair keys_;
  std::unique_ptr<net::TcpListener> listener_;
  // Kept until the end (closed connections too): simpler than a graveyard.
  std::vector<std::unique_ptr<channel::ChannelConnection>> connections_;
};

TEST_CASE("TrackerLink declares a silent tracker dead after dead_after_keepalives and reconnects",
          "[tracker_link]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  SilentTracker silent(*f.loop);
  TrackerLinkParams p = f.tracker.ParamsFor(alice);
  auto at = net::Address::FromIp("127.0.0.1", silent.port());
  REQUIRE(at.ok());
  p.tracker = *at;
  p.tracker_static_key = silent.public_key();
  p.dead_after_keepalives = 1;
  Client& a = f.Add(p);
  const auto start = Clock::now();
  a.link->Start();
  REQUIRE(f.Run([&] { return a.rec.welcomes.size() == 2; }, 5000));
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  REQUIRE(a.rec.disconnects.size() == 1);
  const TrackerLink::Disconnect& d = a.rec.disconnects[0];
  CHECK(d.was_connected);
  CHECK(d.reason.code() == Status::Code::kUnavailable);
  CHECK_THAT(d.reason.ToString(), Catch::Contains("silent"));
  // One keepalive interval is 1 s: declared dead on the tick after more than
  // one interval of silence, so between 1 and 3 s (with slack).
  CHECK(ms >= 1000);
  CHECK(ms < 3500);
  CHECK(silent.sessions == 2);
  a.link->Close();
  silent.Close();
}

TEST_CASE("TrackerLink can be closed from inside each of its upcalls", "[tracker_link]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  MemberKeys dave = f.tracker.Enroll("dave");
  MemberKeys mallory = f.tracker.Enroll("mallory");
  REQUIRE(f.tracker.state().directory().Revoke("mallory", NowUnix(), "left").ok());

  // OnConnected.
  Client& connected = f.Add(f.tracker.ParamsFor(alice, 1));
  connected.rec.close_in = Recorder::CloseIn::kConnected;
  connected.link->Start();
  // OnDisconnected (a closed port: the first attempt fails).
  TrackerLinkParams nowhere = f.tracker.ParamsFor(alice, 2);
  auto closed = net::Address::FromIp("127.0.0.1", ClosedPort(*f.loop));
  REQUIRE(closed.ok());
  nowhere.tracker = *closed;
  Client& disconnected = f.Add(nowhere);
  disconnected.rec.close_in = Recorder::CloseIn::kDisconnected;
  disconnected.link->Start();
  // OnRefused.
  Client& refused = f.Add(f.tracker.ParamsFor(mallory, 3));
  refused.rec.close_in = Recorder::CloseIn::kRefused;
  refused.link->Start();
  // OnLookupResult for the first of two lookups failed by a dropped session
  // (the second is not answered: the link is closed by then).
  Client& looking = f.Add(f.tracker.ParamsFor(dave, 4));
  looking.rec.close_in = Recorder::CloseIn::kLookupResult;
  looking.link->Start();

  REQUIRE(f.Run([&] {
    return connected.rec.closed && disconnected.rec.closed && refused.rec.closed &&
           looking.link->connected();
  }));
  REQUIRE(looking.link->Lookup("bob").ok());
  REQUIRE(looking.link->Lookup("carol").ok());
  f.tracker.Stop();
  REQUIRE(f.Run([&] { return looking.rec.closed; }));
  // Well past every backoff: nothing after Close().
  f.RunFor(100);
  for (Client* c : {&connected, &disconnected, &refused, &looking}) {
    CHECK(c->rec.upcalls_after_close == 0);
    CHECK_FALSE(c->link->connected());
  }
  CHECK(connected.rec.welcomes.size() == 1);
  CHECK(disconnected.rec.disconnects.size() == 1);
  CHECK(refused.rec.refusals.size() == 1);
  CHECK(looking.rec.lookups.size() == 1);
  CHECK(looking.rec.disconnects.empty());
}

TEST_CASE("TrackerLink knows from the welcome whether the tracker relays",
          "[tracker_link][relay]") {
  Fixture f;
  MemberKeys alice = f.tracker.Enroll("alice");
  Client& a = f.Add(f.tracker.ParamsFor(alice));
  CHECK(a.link->RelayOffered().code() == Status::Code::kUnavailable);  // no session yet
  a.link->Start();
  REQUIRE(f.Run([&] { return !a.rec.welcomes.empty(); }));
  CHECK(a.link->welcome().protocol_version() >= 2);
  Status offered = a.link->RelayOffered();
  INFO(offered.ToString());
  CHECK(offered.ok());
}

}  // namespace
}  // namespace confab::peer
