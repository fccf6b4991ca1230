// ChatSessions in one process, for the sessions tests: two members on one
// loop, each with its own confab.db, PeerPort and Dialer, and a fake tracker
// that answers lookups from the loop (never re-entrantly, as the real
// TrackerLink does). A member given `replicas` speaks chat protocol 2.
#pragma once

#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "common/crypto/certificate.h"
#include "peer/chat/replica_view.h"
#include "peer/chat/sessions.h"
#include "proto/identity.pb.h"

#include "tests/unit/messaging/node_fixture.h"
#include "tests/unit/net/net_test_util.h"

namespace confab::peer::sessions_testing {

using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;

inline int64_t NowUnix() {
  return static_cast<int64_t>(std::time(nullptr));
}

inline crypto::SigningKey NewKey() {
  auto key = crypto::SigningKey::Generate();
  REQUIRE(key.ok());
  return std::move(*key);
}

struct FakeTracker;

struct Member final : ChatSessions::Delegate, PeerPort::Delegate, Dialer::Directory {
  Member(FakeTracker& d, std::string n, uint8_t fill) : dir(d), name(std::move(n)), state(fill) {}
  Result<uint64_t> RequestLookup(const std::string& who) override;
  Status RequestPunch(const std::string& /*who*/) override {
    return Status::Unavailable("no tracker");
  }
  void OnDelivered(const std::string& /*who*/, int64_t count) override { delivered += count; }
  // What the node would publish on the control socket's event stream.
  void OnReceived(const std::string& from, const std::vector<StoredMessage>& fresh) override {
    for (const StoredMessage& m : fresh)
      received.push_back(from + ": " + m.text);
  }
  void OnMessageStates(const std::string& contact, const std::vector<MessageId>& ids,
                       MessageState s) override {
    for (const MessageId& id : ids)
      states.emplace_back(contact + " " + ToHex(id), s);
  }
  void OnPeerOutdated(const std::string& who, const std::string& why) override {
    outdated.push_back(who + ": " + why);
  }
  void OnReconciled(const std::string& /*who*/) override { ++rounds; }
  void OnKeyChange(const std::string& who, const Status& /*why*/) override {
    key_changes.push_back(who);
  }
  // The directory cache, in memory.
  void OnLookupVerified(const std::string& who, const proto::LookupResult& result) override {
    kept[who] = result;
  }
  std::optional<proto::LookupResult> CachedLookup(const std::string& who) override {
    auto found = kept.find(who);
    if (found == kept.end())
      return std::nullopt;
    return found->second;
  }
  size_t Count(const std::string& contact, const MessageId& id, MessageState s) const {
    size_t n = 0;
    for (const auto& [what, seen] : states)
      n += what == contact + " " + ToHex(id) && seen == s ? 1 : 0;
    return n;
  }

  FakeTracker& dir;
  int64_t delivered = 0;  // summed from OnDelivered
  std::string name;
  crypto::SigningKey key = NewKey();
  Bytes certificate;
  Node state;  // confab.db, contacts, messenger (tests/unit/messaging)
  std::unique_ptr<PeerPort> port;
  std::unique_ptr<LoopClock> clock;
  std::unique_ptr<ChannelTransports> transports;
  std::unique_ptr<Dialer> dialer;
  std::unique_ptr<ChatSessions> sessions;
  std::vector<std::string> received;
  std::vector<std::pair<std::string, MessageState>> states;
  std::vector<std::string> key_changes;
  // Protocol 2: set before Start, and what it reported.
  chat::ReplicaView* replicas = nullptr;
  uint32_t protocol_version = kChatProtocolVersion;
  std::vector<std::string> outdated;
  size_t rounds = 0;
  std::map<std::string, proto::LookupResult> kept;
};

struct FakeTracker {
  crypto::OrgKey org{NewKey()};
  std::map<std::string, Member*> members;
  // Certificates the directory hands out instead of the member's own.
  std::map<std::string, Bytes> forged;
  std::deque<std::pair<Member*, proto::LookupResult>> answers;
  uint64_t next_id = 1;
  bool down = false;  // the tracker is unreachable: lookups fail at once

  void Flush() {
    while (!answers.empty()) {
      auto [asker, result] = std::move(answers.front());
      answers.pop_front();
      asker->dialer->OnLookupResult(result);
    }
  }
};

inline Result<uint64_t> Member::RequestLookup(const std::string& who) {
  if (dir.down)
    return Status::Unavailable("not connected to the tracker");
  proto::LookupResult result;
  result.set_request_id(dir.next_id++);
  auto found = dir.members.find(who);
  if (found == dir.members.end() || !found->second->sessions) {
    result.set_error("offline");
  } else {
    result.set_found(true);
    const Bytes& cert = dir.forged.count(who) != 0 ? dir.forged[who] : found->second->certificate;
    REQUIRE(
        result.mutable_certificate()->ParseFromArray(cert.data(), static_cast<int>(cert.size())));
    proto::Endpoint* e = result.add_endpoints();
    e->set_address("127.0.0.1");
    e->set_port(found->second->port->local_address().port());
    e->set_kind(proto::Endpoint::KIND_LAN);
  }
  dir.answers.emplace_back(this, result);
  return result.request_id();
}

struct Fixture {
  std::unique_ptr<net::Loop> loop = MakeLoop();
  FakeTracker dir;
  Member alice{dir, "alice", 1};
  Member bob{dir, "bob", 2};

  Fixture() {
    for (Member* m : {&alice, &bob}) {
      auto cert = dir.org.Issue(m->name, m->key.public_key(), 1, NowUnix(), 3600);
      REQUIRE(cert.ok());
      m->certificate = *cert;
      dir.members[m->name] = m;
    }
  }

  void Start(Member& m, const crypto::OrgKey* org = nullptr) {
    PeerPortParams port;
    port.self_name = m.name;
    port.local_static = m.key.DeriveX25519();
    port.certificate = m.certificate;
    port.org_public_key = (org != nullptr ? *org : dir.org).public_key();
    auto listen = net::Address::Parse("127.0.0.1:0");
    REQUIRE(listen.ok());
    auto p = PeerPort::Create(*loop, *listen, std::move(port), *m.state.contacts, &m);
    REQUIRE(p.ok());
    m.port = std::move(*p);
    ChatSessionsParams params;
    params.self_name = m.name;
    params.local_static = m.key.DeriveX25519();
    params.certificate = m.certificate;
    params.replicas = m.replicas;
    params.protocol_version = m.protocol_version;
    DialerParams dial;
    dial.org_public_key = (org != nullptr ? *org : dir.org).public_key();
    m.clock = std::make_unique<LoopClock>(*loop);
    m.transports = std::make_unique<ChannelTransports>(*loop, &m.port->udp());
    m.dialer = std::make_unique<Dialer>(dial, *m.clock, *m.transports, m, *m.state.contacts,
                                        m.port->revoked_keys());
    auto s = ChatSessions::Create(*loop, std::move(params), *m.state.messenger, *m.dialer,
                                  m.port->udp(), &m);
    REQUIRE(s.ok());
    m.sessions = std::move(*s);
    m.port->SetHandler(proto::PURPOSE_CHAT, m.sessions.get());
  }

  StoredMessage Send(Member& from, const std::string& to, const std::string& text) {
    auto m = from.state.messenger->Compose(to, text, kNow);
    REQUIRE(m.ok());
    from.sessions->Deliver(to);
    return *m;
  }

  MessageState StateOf(Member& m, const std::string& contact, const MessageId& id) {
    auto all = m.state.messenger->History(contact, 0, 100);
    REQUIRE(all.ok());
    for (const StoredMessage& s : *all) {
      if (s.id == id)
        return s.state;
    }
    FAIL("no such message");
    return MessageState::kReceived;
  }

  // Runs the loop (and the fake tracker) for `ms` or until `done`.
  bool Run(const std::function<bool()>& done, uint64_t ms = 5000) {
    return RunUntil(
        *loop,
        [&] {
          dir.Flush();
          return done();
        },
        ms);
  }

  ~Fixture() {
    for (Member* m : {&alice, &bob}) {
      if (m->port)
        m->port->Close();
      if (m->sessions)
        m->sessions->Close();
      if (m->dialer)
        m->dialer->Close();
    }
    CloseLoop(*loop);
  }
};

}  // namespace confab::peer::sessions_testing
