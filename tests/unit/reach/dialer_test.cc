// The Dialer with a fake clock, fake transports and a fake tracker: every
// path and every way of failing, without a socket.
#include "peer/reach/dialer.h"

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/crypto/certificate.h"
#include "peer/contacts/contact_book.h"
#include "peer/store/peer_database.h"

#include "tests/unit/store/temp_dir.h"

namespace confab::peer {
namespace {

constexpr const char* kLan = "10.200.2.2:7651";
constexpr const char* kPublic = "198.18.2.2:7651";
constexpr const char* kUdpLan = "10.200.2.2:7651";
constexpr const char* kUdpPublic = "198.18.2.2:7651";

crypto::SigningKey NewKey() {
  auto key = crypto::SigningKey::Generate();
  REQUIRE(key.ok());
  return std::move(*key);
}

// Time moves only when a test says so; alarms fire in deadline order.
class FakeClock final : public Dialer::Clock {
 public:
  struct Entry {
    int64_t due = -1;  // -1: not armed
    std::function<void()> fire;
  };
  class FakeAlarm final : public Alarm {
   public:
    FakeAlarm(FakeClock& clock, std::shared_ptr<Entry> entry) : clock_(clock), entry_(entry) {}
    ~FakeAlarm() override { entry_->due = -1; }
    void Start(uint64_t timeout_ms) override {
      entry_->due = clock_.now_ms + static_cast<int64_t>(timeout_ms);
    }

   private:
    FakeClock& clock_;
    std::shared_ptr<Entry> entry_;
  };

  int64_t NowMs() override { return now_ms; }
  int64_t NowUnix() override { return static_cast<int64_t>(std::time(nullptr)); }
  std::unique_ptr<Alarm> NewAlarm(std::function<void()> fire) override {
    auto entry = std::make_shared<Entry>();
    entry->fire = std::move(fire);
    entries.push_back(entry);
    return std::make_unique<FakeAlarm>(*this, entry);
  }
  // Moves time on by `ms`, firing what falls due on the way.
  void Advance(int64_t ms) {
    const int64_t until = now_ms + ms;
    for (;;) {
      std::shared_ptr<Entry> next;
      for (const auto& e : entries) {
        if (e->due >= 0 && e->due <= until && (!next || e->due < next->due))
          next = e;
      }
      if (!next)
        break;
      now_ms = next->due;
      next->due = -1;
      std::function<void()> fire = next->fire;
      fire();
    }
    now_ms = until;
  }
  int armed() const {
    int n = 0;
    for (const auto& e : entries)
      n += e->due >= 0 ? 1 : 0;
    return n;
  }

  int64_t now_ms = 1'000'000;
  std::vector<std::shared_ptr<Entry>> entries;
};

// Dials recorded, finished by the test.
class FakeTransports final : public Dialer::Transports {
 public:
  struct Dial {
    Transport transport = Transport::kNone;
    std::string to;  // the address, or the candidates joined by ','
    Dialer::DialDone done;
    bool abandoned = false;
    bool finished = false;
    proto::Purpose purpose = proto::PURPOSE_UNKNOWN;
    crypto::X25519PublicKey remote_static{};
  };
  class Token final : public Pending {
   public:
    explicit Token(std::shared_ptr<Dial> dial) : dial_(std::move(dial)) {}
    ~Token() override {
      if (!dial_->finished)
        dial_->abandoned = true;
    }

   private:
    std::shared_ptr<Dial> dial_;
  };

  Result<std::unique_ptr<Pending>> DialTcp(const net::Address& to, channel::InitiatorParams params,
                                           const net::TcpConnectionOptions& /*options*/,
                                           Dialer::DialDone done) override {
    if (refuse_tcp.count(to.ToString()) != 0)
      return Status::Unavailable("connect to " + to.ToString() + ": ENETUNREACH");
    return Record(Transport::kTcp, to.ToString(), params, std::move(done));
  }
  Result<std::unique_ptr<Pending>> DialUdp(std::vector<net::Address> candidates,
                                           channel::InitiatorParams params, udp::SessionId* session,
                                           Dialer::DialDone done) override {
    std::string where;
    for (const net::Address& a : candidates)
      where += (where.empty() ? "" : ",") + a.ToString();
    *session = 42;
    return Record(Transport::kUdp, where, params, std::move(done));
  }

  // The dial to `to` (the latest one) establishes or fails.
  void Succeed(size_t i) { Finish(i, std::unique_ptr<channel::ChannelConnection>()); }
  void Fail(size_t i, const std::string& why) { Finish(i, Status::Unavailable(why)); }
  void Finish(size_t i, Result<std::unique_ptr<channel::ChannelConnection>> result) {
    REQUIRE(i < dials.size());
    std::shared_ptr<Dial> d = dials[i];
    REQUIRE_FALSE(d->abandoned);
    REQUIRE_FALSE(d->finished);
    d->finished = true;
    d->done(std::move(result));
  }
  size_t Count(Transport t) const {
    size_t n = 0;
    for (const auto& d : dials)
      n += d->transport == t ? 1 : 0;
    return n;
  }

  std::vector<std::shared_ptr<Dial>> dials;
  std::set<std::string> refuse_tcp;  // these fail at once, as ENETUNREACH does

 private:
  Result<std::unique_ptr<Pending>> Record(Transport t, std::string to,
                                          const channel::InitiatorParams& params,
                                          Dialer::DialDone done) {
    auto d = std::make_shared<Dial>();
    d->transport = t;
    d->to = std::move(to);
    d->done = std::move(done);
    d->purpose = params.purpose;
    d->remote_static = params.remote_static;
    dials.push_back(d);
    return std::unique_ptr<Pending>(std::make_unique<Token>(d));
  }
};

// The tracker and directory cache: lookups answered when the test says.
class FakeDirectory final : public Dialer::Directory {
 public:
  Result<uint64_t> RequestLookup(const std::string& name) override {
    if (down)
      return Status::Unavailable("not connected to the tracker");
    lookups.push_back(name);
    return next_id++;
  }
  std::optional<proto::LookupResult> CachedLookup(const std::string& name) override {
    auto it = kept.find(name);
    if (it == kept.end())
      return std::nullopt;
    return it->second;
  }
  void OnLookupVerified(const std::string& name, const proto::LookupResult& result) override {
    kept[name] = result;
  }
  Status RequestPunch(const std::string& name) override {
    punches.push_back(name);
    return Status::Ok();
  }
  void OnKeyChange(const std::string& name, const Status& /*why*/) override {
    key_changes.push_back(name);
  }

  bool down = false;
  uint64_t next_id = 1;
  std::vector<std::string> lookups;
  std::vector<std::string> punches;
  std::vector<std::string> key_changes;
  std::map<std::string, proto::LookupResult> kept;
};

class FakeRequester final : public Dialer::Requester {
 public:
  void OnReached(const std::string& name, std::unique_ptr<channel::ChannelConnection> /*conn*/,
                 const PathReport& path, udp::SessionId session) override {
    reached.push_back(name);
    last = path;
    last_session = session;
  }
  void OnNotReached(const std::string& name, const Status& why,
                    const std::optional<PathReport>& path) override {
    failed.push_back(name);
    last_why = why;
    last = path;
  }
  std::vector<std::string> reached;
  std::vector<std::string> failed;
  std::optional<PathReport> last;
  Status last_why;
  udp::SessionId last_session = 0;
};

struct Fixture {
  store::TempDir dir;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<ContactBook> contacts;
  crypto::OrgKey org{NewKey()};
  crypto::SigningKey bob_key = NewKey();
  std::set<std::string> revoked;
  FakeClock clock;
  FakeTransports transports;
  FakeDirectory directory;
  FakeRequester requester;
  std::unique_ptr<Dialer> dialer;

  explicit Fixture(PathPolicy paths = PathPolicy::kAuto, uint64_t head_start_ms = 300) {
    auto opened = OpenPeerDatabase(dir.File("confab.db"));
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto book = ContactBook::Open(db.get());
    REQUIRE(book.ok());
    contacts = std::move(*book);
    DialerParams params;
    params.org_public_key = org.public_key();
    params.paths = paths;
    params.udp_head_start_ms = head_start_ms;
    dialer = std::make_unique<Dialer>(params, clock, transports, directory, *contacts, revoked);
  }

  // bob's lookup answer: LAN and public TCP, LAN and public UDP.
  proto::LookupResult Answer(uint64_t id, const crypto::SigningKey& key, bool tcp = true,
                             bool udp = true) {
    proto::LookupResult r;
    r.set_request_id(id);
    r.set_found(true);
    auto cert =
        org.Issue("bob", key.public_key(), 1, static_cast<int64_t>(std::time(nullptr)), 3600);
    REQUIRE(cert.ok());
    REQUIRE(r.mutable_certificate()->ParseFromArray(cert->data(), static_cast<int>(cert->size())));
    auto add = [&](const char* at, proto::Endpoint::Kind kind, bool is_udp) {
      auto a = net::Address::Parse(at);
      REQUIRE(a.ok());
      proto::Endpoint* e = r.add_endpoints();
      e->set_address(a->ip());
      e->set_port(a->port());
      e->set_kind(kind);
      e->set_udp(is_udp);
    };
    if (tcp) {
      add(kPublic, proto::Endpoint::KIND_PUBLIC, false);  // sorted after the LAN one
      add(kLan, proto::Endpoint::KIND_LAN, false);
    }
    if (udp) {
      add(kUdpLan, proto::Endpoint::KIND_LAN, true);
      add(kUdpPublic, proto::Endpoint::KIND_PUBLIC, true);
    }
    return r;
  }

  Status Reach(proto::Purpose purpose = proto::PURPOSE_CHAT, FakeRequester* who = nullptr) {
    Dialer::Request request;
    request.name = "bob";
    request.initiator.purpose = purpose;
    return dialer->Reach(std::move(request), who != nullptr ? who : &requester);
  }
  // Reach, and answer the lookup with bob's usual endpoints.
  void ReachAndAnswer(bool tcp = true, bool udp = true) {
    REQUIRE(Reach().ok());
    REQUIRE(directory.lookups.size() >= 1);
    dialer->OnLookupResult(Answer(directory.next_id - 1, bob_key, tcp, udp));
  }
};

TEST_CASE("The Dialer reaches a contact over LAN TCP and reports the path", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  REQUIRE(f.transports.dials.size() == 1);
  CHECK(f.transports.dials[0]->transport == Transport::kTcp);
  CHECK(f.transports.dials[0]->to == kLan);
  CHECK(f.transports.dials[0]->purpose == proto::PURPOSE_CHAT);
  auto derived = crypto::X25519FromEd25519(f.bob_key.public_key());
  REQUIRE(derived.ok());
  CHECK(f.transports.dials[0]->remote_static == *derived);
  CHECK(f.directory.kept.count("bob") == 1);  // a fresh answer that checked out is kept
  f.transports.Succeed(0);
  REQUIRE(f.requester.reached == std::vector<std::string>{"bob"});
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kTcp);
  CHECK(f.requester.last->address == kLan);
  CHECK(f.requester.last->reason == "direct TCP");
  CHECK(f.requester.last_session == 0);
  // The head start's alarm went with the attempt: no UDP dial follows.
  f.clock.Advance(60'000);
  CHECK(f.transports.Count(Transport::kUdp) == 0);
  CHECK(f.directory.punches.size() == 1);  // asked as TCP began, in case
  CHECK(f.dialer->attempts_in_flight() == 0);
  CHECK(f.clock.armed() == 0);
}

TEST_CASE("The Dialer falls back from a failed LAN dial to public TCP", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer(/*tcp=*/true, /*udp=*/false);
  f.transports.Fail(0, "connection refused");
  REQUIRE(f.transports.dials.size() == 2);
  CHECK(f.transports.dials[1]->to == kPublic);
  f.transports.Succeed(1);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kTcp);
  CHECK(f.requester.last->address == kPublic);
  CHECK(f.requester.last->reason ==
        "direct TCP after: tcp " + std::string(kLan) + ": connection refused");
}

TEST_CASE("The Dialer gives each TCP dial tcp_dial_timeout_ms, then UDP wins", "[reach][dialer]") {
  Fixture f;
  f.transports.refuse_tcp.insert(kLan);  // fails at once, as in the lab
  f.ReachAndAnswer();
  REQUIRE(f.transports.dials.size() == 1);  // the public TCP dial
  CHECK(f.transports.dials[0]->to == kPublic);
  // The punch request goes as TCP begins; the head start passes, and the
  // UDP dial starts beside TCP.
  CHECK(f.directory.punches == std::vector<std::string>{"bob"});
  f.clock.Advance(299);
  CHECK(f.transports.Count(Transport::kUdp) == 0);
  f.clock.Advance(1);
  REQUIRE(f.transports.Count(Transport::kUdp) == 1);
  CHECK(f.directory.punches.size() == 1);  // once per attempt
  CHECK(f.transports.dials[1]->to == std::string(kUdpLan) + "," + kUdpPublic);
  // TCP times out first; UDP still runs and wins.
  f.clock.Advance(2700);
  CHECK(f.transports.dials[0]->abandoned);
  CHECK(f.requester.reached.empty());
  f.transports.Succeed(1);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kUdp);
  CHECK(f.requester.last_session == 42);
  CHECK(f.requester.last->reason == "UDP hole punching after: tcp " + std::string(kLan) +
                                        ": connect to " + kLan + ": ENETUNREACH; tcp " + kPublic +
                                        ": no answer in time");
}

TEST_CASE("UDP that answers first wins the race and the TCP dial is abandoned", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.clock.Advance(300);
  REQUIRE(f.transports.dials.size() == 2);
  REQUIRE(f.transports.dials[1]->transport == Transport::kUdp);
  f.transports.Succeed(1);  // LAN TCP is still dialing
  CHECK(f.transports.dials[0]->abandoned);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kUdp);
  CHECK(f.requester.last->reason ==
        "UDP hole punching (first to answer; tcp " + std::string(kLan) + " was still dialing)");
  // The TCP timer went with it: nothing more is dialed or reported.
  f.clock.Advance(60'000);
  CHECK(f.transports.dials.size() == 2);
  CHECK(f.requester.reached.size() == 1);
  CHECK(f.requester.failed.empty());
}

TEST_CASE("The UDP head start is udp_head_start_ms", "[reach][dialer]") {
  Fixture f(PathPolicy::kAuto, /*head_start_ms=*/1000);
  f.ReachAndAnswer();
  f.clock.Advance(999);
  CHECK(f.transports.Count(Transport::kUdp) == 0);
  f.clock.Advance(1);
  CHECK(f.transports.Count(Transport::kUdp) == 1);
}

TEST_CASE("TCP that establishes while UDP dials wins, and the UDP dial is abandoned",
          "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.clock.Advance(1000);
  REQUIRE(f.transports.dials.size() == 2);
  f.transports.Succeed(0);
  CHECK(f.transports.dials[1]->abandoned);  // the UDP session closes with it
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kTcp);
  f.clock.Advance(60'000);
  CHECK(f.requester.reached.size() == 1);
  CHECK(f.requester.failed.empty());
}

TEST_CASE("When every path fails there is no direct path, held until RetryNow", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.transports.Fail(0, "connection refused");  // LAN, before the head start
  f.clock.Advance(300);
  REQUIRE(f.transports.dials.size() == 3);  // public TCP, then UDP beside it
  f.transports.Fail(2, "no answer from any address");
  f.clock.Advance(3000);  // public TCP times out
  REQUIRE(f.requester.failed == std::vector<std::string>{"bob"});
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->transport == Transport::kNone);
  CHECK(TransportName(f.requester.last->transport) == "none");
  const std::string& reason = f.requester.last->reason;
  CHECK(reason.rfind("no direct path (", 0) == 0);
  CHECK(reason.find("tcp " + std::string(kLan) + ": connection refused") != std::string::npos);
  CHECK(reason.find("udp " + std::string(kUdpLan)) != std::string::npos);
  CHECK(reason.find("tcp " + std::string(kPublic) + ": no answer in time") != std::string::npos);
  CHECK(f.requester.last_why.code() == Status::Code::kUnavailable);

  // Held: no lookup, no dial before no_path_retry_ms.
  const size_t lookups = f.directory.lookups.size();
  f.clock.Advance(29'000);
  CHECK(f.Reach().code() == Status::Code::kUnavailable);
  CHECK(f.directory.lookups.size() == lookups);
  // Another purpose (a file) is not held by chat's outcome.
  CHECK(f.Reach(proto::PURPOSE_FILE).ok());
  CHECK(f.directory.lookups.size() == lookups + 1);
  // A presence push lifts the hold.
  f.dialer->RetryNow("bob");
  CHECK(f.Reach().ok());
  CHECK(f.directory.lookups.size() == lookups + 2);
}

TEST_CASE("The hold after no direct path ends by itself after no_path_retry_ms",
          "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer(/*tcp=*/false, /*udp=*/true);
  REQUIRE(f.transports.dials.size() == 1);  // no TCP endpoint: UDP at once
  f.transports.Fail(0, "no answer");
  REQUIRE(f.requester.failed.size() == 1);
  f.clock.Advance(29'999);
  CHECK(f.Reach().code() == Status::Code::kUnavailable);
  f.clock.Advance(1);
  CHECK(f.Reach().ok());
}

TEST_CASE("A lookup that finds nobody ends the attempt and holds it", "[reach][dialer]") {
  Fixture f;
  REQUIRE(f.Reach().ok());
  proto::LookupResult r;
  r.set_request_id(1);
  r.set_found(false);
  r.set_error("revoked");
  f.dialer->OnLookupResult(r);
  REQUIRE(f.requester.failed.size() == 1);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->reason == "the tracker's lookup failed: revoked");
  CHECK(f.transports.dials.empty());
  CHECK(f.Reach().code() == Status::Code::kUnavailable);
}

TEST_CASE("A revoked key is refused at the dial", "[reach][dialer]") {
  Fixture f;
  f.revoked.insert(std::string(AsChars(f.bob_key.public_key())));
  f.ReachAndAnswer();
  REQUIRE(f.requester.failed.size() == 1);
  CHECK(f.requester.last_why.code() == Status::Code::kPermissionDenied);
  CHECK_FALSE(f.requester.last);  // "not now": nothing for who --verbose
  CHECK(f.transports.dials.empty());
  CHECK(f.directory.kept.empty());
}

TEST_CASE("Without a tracker the Dialer dials the kept lookup answer", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.transports.Succeed(0);
  f.directory.down = true;
  REQUIRE(f.Reach().ok());
  REQUIRE(f.transports.dials.size() == 2);
  CHECK(f.transports.dials[1]->to == kLan);
  f.transports.Succeed(1);
  CHECK(f.requester.reached.size() == 2);

  SECTION("and says so when nothing is kept") {
    f.directory.kept.clear();
    REQUIRE(f.Reach().ok());
    REQUIRE(f.requester.failed.size() == 1);  // answered before Reach returned
    CHECK(f.requester.last_why.code() == Status::Code::kUnavailable);
    CHECK_FALSE(f.requester.last);
    CHECK(f.Reach().ok());  // not held: the next retry tick tries again
  }
}

TEST_CASE("A changed identity key is refused and the directory told", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.transports.Succeed(0);  // bob's key is pinned now
  crypto::SigningKey impostor = NewKey();
  REQUIRE(f.Reach().ok());
  f.dialer->OnLookupResult(f.Answer(f.directory.next_id - 1, impostor));
  CHECK(f.directory.key_changes == std::vector<std::string>{"bob"});
  CHECK(f.requester.last_why.code() == Status::Code::kAuthFailed);
  CHECK(f.transports.dials.size() == 1);  // nothing dialed to the impostor
}

TEST_CASE("network.path = tcp dials TCP alone", "[reach][dialer]") {
  Fixture f(PathPolicy::kTcpOnly);
  f.ReachAndAnswer();
  f.transports.Fail(0, "refused");
  f.clock.Advance(3000);
  CHECK(f.transports.Count(Transport::kUdp) == 0);
  CHECK(f.directory.punches.empty());
  REQUIRE(f.requester.failed.size() == 1);
  CHECK(f.requester.last->reason.rfind("no direct path (tcp ", 0) == 0);
}

TEST_CASE("network.path = udp punches and dials UDP at once, no TCP", "[reach][dialer]") {
  Fixture f(PathPolicy::kUdpOnly);
  f.ReachAndAnswer();
  REQUIRE(f.transports.dials.size() == 1);
  CHECK(f.transports.dials[0]->transport == Transport::kUdp);
  CHECK(f.directory.punches.size() == 1);
  f.transports.Succeed(0);
  REQUIRE(f.requester.last);
  CHECK(f.requester.last->reason == "UDP hole punching (network.path = udp)");
}

TEST_CASE("A UDP dial that crossed the peer's own is no failure and holds nothing",
          "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer(/*tcp=*/false, /*udp=*/true);
  f.transports.Finish(0, Status::Unavailable(std::string(kCrossedDial)));
  REQUIRE(f.requester.failed.size() == 1);
  CHECK_FALSE(f.requester.last);  // no "no direct path" shown
  CHECK(f.Reach().ok());          // and no hold
}

TEST_CASE("A second request for the same name and purpose joins the one in flight",
          "[reach][dialer]") {
  Fixture f;
  REQUIRE(f.Reach().ok());
  REQUIRE(f.Reach().ok());
  CHECK(f.directory.lookups.size() == 1);
  CHECK(f.dialer->InFlight("bob", proto::PURPOSE_CHAT, &f.requester));
  f.dialer->OnLookupResult(f.Answer(1, f.bob_key));
  f.transports.Succeed(0);
  CHECK(f.requester.reached.size() == 1);  // one answer, once

  SECTION("while another requester gets an attempt of its own") {
    FakeRequester other;
    REQUIRE(f.Reach(proto::PURPOSE_FILE).ok());
    REQUIRE(f.Reach(proto::PURPOSE_FILE, &other).ok());
    CHECK(f.directory.lookups.size() == 3);
    f.dialer->Cancel(&other);
    CHECK_FALSE(f.dialer->InFlight("bob", proto::PURPOSE_FILE, &other));
    CHECK(f.dialer->InFlight("bob", proto::PURPOSE_FILE, &f.requester));
    const size_t dials = f.transports.dials.size();
    f.dialer->OnLookupResult(f.Answer(3, f.bob_key));  // the cancelled one's: ignored
    CHECK(f.transports.dials.size() == dials);
    CHECK(other.reached.empty());
    CHECK(other.failed.empty());
  }
}

TEST_CASE("Cancel and Close abandon dials without an answer", "[reach][dialer]") {
  Fixture f;
  f.ReachAndAnswer();
  f.clock.Advance(300);
  REQUIRE(f.transports.dials.size() == 2);
  f.dialer->Close();
  CHECK(f.transports.dials[0]->abandoned);
  CHECK(f.transports.dials[1]->abandoned);
  CHECK(f.clock.armed() == 0);
  CHECK(f.requester.reached.empty());
  CHECK(f.requester.failed.empty());
  CHECK(f.Reach().code() == Status::Code::kUnavailable);
}

}  // namespace
}  // namespace confab::peer
