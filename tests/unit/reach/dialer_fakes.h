// The Dialer's fakes: a clock that moves when told, transports that record
// dials for the test to finish, a tracker that answers when told, and a
// requester that records the outcome. Shared by the Dialer's tests.
#pragma once

#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/crypto/certificate.h"
#include "peer/contacts/contact_book.h"
#include "peer/reach/dialer.h"
#include "peer/store/peer_database.h"

#include "tests/unit/store/temp_dir.h"

namespace confab::peer::testing {

inline constexpr const char* kLan = "10.200.2.2:7651";
inline constexpr const char* kPublic = "198.18.2.2:7651";
inline constexpr const char* kUdpLan = "10.200.2.2:7651";
inline constexpr const char* kUdpPublic = "198.18.2.2:7651";

inline crypto::SigningKey NewKey() {
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

  Result<std::unique_ptr<Pending>> DialRelay(const std::string& name,
                                             channel::InitiatorParams params,
                                             Dialer::DialDone done) override {
    if (refuse_relay)
      return Status::FailedPrecondition("relay: the tracker is too old");
    return Record(Transport::kRelay, name, params, std::move(done));
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
  bool refuse_relay = false;         // DialRelay fails at once

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

  explicit Fixture(PathPolicy paths = PathPolicy::kAuto, uint64_t head_start_ms = 300,
                   bool relay = false) {
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
    params.relay = relay;
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

}  // namespace confab::peer::testing
