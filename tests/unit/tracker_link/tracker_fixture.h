// The real tracker (TrackerServer over TrackerService) in this process, on
// the loop the test runs, on loopback, and TrackerLinks to it that record
// every upcall: shared by the TrackerLink and relay tests.
#pragma once

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
#include "peer/tracker_link/tracker_link.h"
#include "tracker/server.h"
#include "tracker/state.h"

#include "tests/unit/net/net_test_util.h"
#include "tests/unit/store/temp_dir.h"

namespace confab::peer::testing {

using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;
using Clock = std::chrono::steady_clock;

inline int64_t NowUnix() {
  return static_cast<int64_t>(std::time(nullptr));
}

template <typename Message>
Bytes Serialize(const Message& m) {
  std::string s = m.SerializeAsString();
  return ToBytes(AsBytes(s));
}

// A member enrolled in the tracker's directory.
struct MemberKeys {
  std::string name;
  crypto::SigningKey key;
  Bytes certificate;
};

// The real tracker: a state directory and the servers started on it, one
// after another (a restart is a new TrackerState and TrackerServer on the
// same directory and port, as a new process would be).
class Tracker {
 public:
  // `configure` adds to tracker.toml (e.g. the [relay] keys).
  explicit Tracker(net::Loop& loop, std::function<void(config::Writer&)> configure = {})
      : loop_(loop), configure_(std::move(configure)) {
    REQUIRE(tracker::TrackerState::Init(dir_, "Example", "127.0.0.1:0").ok());
    Start();
  }

  // Listening on 127.0.0.1:port (0 the first time: any free port).
  void Start() {
    // Keepalives every second (the least both sides take), so that the
    // link's keepalive timer fires within the test.
    config::Writer w;
    const std::string listen = "127.0.0.1:" + std::to_string(port_);
    w.SetString("org", "Example").SetString("listen", listen).SetString("advertise", listen);
    w.SetDuration("session.keepalive_interval", std::chrono::seconds(1));
    w.SetDuration("session.timeout", std::chrono::seconds(5));
    if (configure_)
      configure_(w);
    auto toml = w.Render("tracker_link_test");
    REQUIRE(toml.ok());
    REQUIRE(config::WriteFileAtomically(dir_ + "/tracker.toml", *toml, 0600).ok());
    auto state = tracker::TrackerState::Open(dir_);
    INFO(state.status().ToString());
    REQUIRE(state.ok());
    states_.push_back(std::move(*state));
    auto server = tracker::TrackerServer::Start(loop_, *states_.back());
    INFO(server.status().ToString());
    REQUIRE(server.ok());
    servers_.push_back(std::move(*server));
    if (port_ == 0)
      port_ = servers_.back()->port();
    REQUIRE(servers_.back()->port() == port_);
  }

  // Closes the running server's listeners and sessions (kept until the end:
  // destroying it before its handles' close callbacks is not allowed).
  void Stop() {
    if (running_)
      servers_.back()->Stop();
    running_ = false;
  }
  void Restart() {
    Stop();
    Start();
    running_ = true;
  }

  MemberKeys Enroll(const std::string& name) {
    auto secret = crypto::NewInviteSecret();
    const auto hash = crypto::HashInviteSecret(secret.view());
    const int64_t now = NowUnix();
    REQUIRE(state().directory().CreateInvite(name, hash, now, 3600).ok());
    auto key = crypto::SigningKey::Generate();
    REQUIRE(key.ok());
    const crypto::OrgKey& org = state().org_key();
    auto member =
        state().directory().Enroll(hash, key->public_key(), now, [&](const tracker::Issuance& in) {
          return org.Issue(in.name, key->public_key(), in.serial, in.issued_at, 3600);
        });
    REQUIRE(member.ok());
    return MemberKeys{name, std::move(*key), member->certificate};
  }

  TrackerLinkParams ParamsFor(const MemberKeys& m, uint64_t seed = 1) {
    auto at = net::Address::FromIp("127.0.0.1", port_);
    REQUIRE(at.ok());
    TrackerLinkParams p{*at};
    p.tracker_static_key = state().noise_static().public_key;
    p.local_static = m.key.DeriveX25519();
    p.certificate = m.certificate;
    p.backoff = BackoffPolicy{20, 200, 0.2};
    p.handshake_timeout_ms = 2000;
    p.random_seed = seed;
    return p;
  }

  tracker::TrackerState& state() { return *states_.back(); }
  tracker::TrackerServer& server() { return *servers_.back(); }
  uint16_t port() const { return port_; }

 private:
  net::Loop& loop_;
  std::function<void(config::Writer&)> configure_;
  store::TempDir tmp_;
  const std::string dir_ = tmp_.File("tracker");
  uint16_t port_ = 0;
  bool running_ = true;
  // Servers after states: each server refers to its state.
  std::vector<std::unique_ptr<tracker::TrackerState>> states_;
  std::vector<std::unique_ptr<tracker::TrackerServer>> servers_;
};

// Records every upcall; optionally closes the link from one kind of upcall.
struct Recorder final : TrackerLink::Delegate {
  enum class CloseIn { kNever, kConnected, kDisconnected, kLookupResult, kRefused };

  void OnConnected(const proto::SessionWelcome& welcome) override {
    Note();
    welcomes.push_back(welcome);
    MaybeClose(CloseIn::kConnected);
  }
  void OnPresence(const proto::PresenceDelta& delta) override {
    Note();
    for (const proto::PresenceEntry& e : delta.entries())
      presence.push_back(e);
  }
  void OnLookupResult(const proto::LookupResult& result) override {
    Note();
    lookups.push_back(result);
    MaybeClose(CloseIn::kLookupResult);
  }
  void OnRevoked(const proto::Revoked& r) override {
    Note();
    revoked.push_back(r.name());
  }
  void OnRelayOffer(const proto::RelayOffer& offer) override {
    Note();
    relay_offers.push_back(offer);
  }
  void OnRelayNotice(const proto::RelayNotice& notice) override {
    Note();
    relay_notices.push_back(notice);
  }
  void OnTrackerError(std::string_view message) override {
    Note();
    errors.emplace_back(message);
  }
  void OnMailboxDeposited(const proto::MailboxDepositAnswer& answer) override {
    Note();
    deposits.push_back(answer);
  }
  void OnMailboxEnvelopes(const proto::MailboxEnvelopes& page) override {
    Note();
    pages.push_back(page);
  }
  void OnMailboxNotice(const proto::MailboxNotice& notice) override {
    Note();
    notices.push_back(notice);
  }
  void OnDisconnected(const TrackerLink::Disconnect& d) override {
    Note();
    disconnects.push_back(d);
    disconnect_times.push_back(Clock::now());
    MaybeClose(CloseIn::kDisconnected);
  }
  void OnRefused(const Status& reason) override {
    Note();
    refusals.push_back(reason);
    MaybeClose(CloseIn::kRefused);
  }

  void Note() {
    if (closed)
      ++upcalls_after_close;
  }
  void MaybeClose(CloseIn where) {
    if (close_in == where && link != nullptr && !closed) {
      closed = true;
      link->Close();
    }
  }
  // The last entry seen for `name`, if any.
  const proto::PresenceEntry* LastPresence(const std::string& name) const {
    for (auto it = presence.rbegin(); it != presence.rend(); ++it) {
      if (it->name() == name)
        return &*it;
    }
    return nullptr;
  }

  TrackerLink* link = nullptr;
  CloseIn close_in = CloseIn::kNever;
  bool closed = false;
  int upcalls_after_close = 0;
  std::vector<proto::SessionWelcome> welcomes;
  std::vector<proto::PresenceEntry> presence;
  std::vector<proto::LookupResult> lookups;
  std::vector<std::string> revoked;
  std::vector<TrackerLink::Disconnect> disconnects;
  std::vector<Clock::time_point> disconnect_times;
  std::vector<Status> refusals;
  std::vector<proto::RelayOffer> relay_offers;
  std::vector<proto::RelayNotice> relay_notices;
  std::vector<std::string> errors;
  std::vector<proto::MailboxDepositAnswer> deposits;
  std::vector<proto::MailboxEnvelopes> pages;
  std::vector<proto::MailboxNotice> notices;
};

// A member's link and what it heard.
struct Client {
  Recorder rec;
  std::unique_ptr<TrackerLink> link;
};

struct Fixture {
  explicit Fixture(std::function<void(config::Writer&)> configure = {})
      : tracker(*loop, std::move(configure)) {}
  std::unique_ptr<net::Loop> loop = MakeLoop();
  Tracker tracker;
  std::vector<std::unique_ptr<Client>> clients;

  Client& Add(TrackerLinkParams params) {
    auto c = std::make_unique<Client>();
    auto link = TrackerLink::Create(*loop, std::move(params), &c->rec);
    REQUIRE(link.ok());
    c->link = std::move(*link);
    c->rec.link = c->link.get();
    clients.push_back(std::move(c));
    return *clients.back();
  }

  bool Run(const std::function<bool()>& done, uint64_t ms = 3000) {
    return RunUntil(*loop, done, ms);
  }
  void RunFor(uint64_t ms) {
    (void)RunUntil(
        *loop, [] { return false; }, ms);
  }

  ~Fixture() {
    for (auto& c : clients)
      c->link->Close();
    tracker.Stop();
    CloseLoop(*loop);
  }
};

}  // namespace confab::peer::testing
