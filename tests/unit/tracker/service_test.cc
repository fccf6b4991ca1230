#include "tracker/service.h"

#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>

#include "common/crypto/identity.h"
#include "common/crypto/invite.h"

#include "../store/temp_dir.h"

namespace confab::tracker {
namespace {

constexpr int64_t kNow = 1'800'000'000;

template <typename Message>
Bytes Serialize(const Message& m) {
  std::string s = m.SerializeAsString();
  return ToBytes(AsBytes(s));
}

// A tracker state directory, and members who join through the service.
struct World {
  World() {
    REQUIRE(TrackerState::Init(tmp.File("t"), "Example", "127.0.0.1:7650").ok());
    auto opened = TrackerState::Open(tmp.File("t"));
    REQUIRE(opened.ok());
    state = std::move(opened).value();
    service = std::make_unique<TrackerService>(*state);
  }

  struct Member {
    std::string name;
    crypto::SigningKey key;
    crypto::X25519KeyPair x;
    proto::Certificate cert;
  };

  Bytes JoinPayload(const crypto::SigningKey& key, const SecretArray<32>& secret) {
    proto::JoinRequest req;
    req.set_invite_secret(secret.data(), secret.size());
    req.set_identity_key(key.public_key().data(), key.public_key().size());
    return Serialize(req);
  }

  Member Join(const std::string& name) {
    auto secret = crypto::NewInviteSecret();
    REQUIRE(state->directory()
                .CreateInvite(name, crypto::HashInviteSecret(secret.view()), kNow, 3600)
                .ok());
    auto key = crypto::SigningKey::Generate();
    REQUIRE(key.ok());
    auto x = key->DeriveX25519();
    auto reply = service->OnHello(next_id++, proto::PURPOSE_JOIN, x.public_key,
                                  JoinPayload(*key, secret), "127.0.0.1", kNow);
    REQUIRE(reply.ok());
    REQUIRE(reply->psk.has_value());
    CHECK(ToHex(reply->psk->view()) == ToHex(crypto::DeriveJoinPsk(secret.view()).view()));
    CHECK(reply->close_after_reply);
    proto::JoinResponse resp;
    REQUIRE(resp.ParseFromArray(reply->payload.data(), static_cast<int>(reply->payload.size())));
    INFO(resp.refusal());
    REQUIRE(resp.accepted());
    CHECK(resp.org() == "Example");
    return Member{name, std::move(key).value(), std::move(x), resp.certificate()};
  }

  // Opens a session; returns its id.
  SessionId Connect(const Member& m) {
    SessionId id = next_id++;
    proto::SessionHello hello;
    *hello.mutable_certificate() = m.cert;
    auto reply = service->OnHello(id, proto::PURPOSE_TRACKER, m.x.public_key, Serialize(hello),
                                  "192.0.2.7", kNow);
    REQUIRE(reply.ok());
    proto::SessionWelcome welcome;
    REQUIRE(welcome.ParseFromArray(reply->payload.data(), static_cast<int>(reply->payload.size())));
    INFO(welcome.refusal());
    REQUIRE(welcome.accepted());
    CHECK(welcome.udp_token().size() == kUdpTokenBytes);
    return id;
  }

  Status Send(SessionId id, const proto::ToTracker& m, int64_t now = kNow) {
    return service->OnMessage(id, Serialize(m), now);
  }

  store::TempDir tmp;
  std::unique_ptr<TrackerState> state;
  std::unique_ptr<TrackerService> service;
  SessionId next_id = 1;
};

proto::ToTracker Subscribe(std::vector<std::string> names) {
  proto::ToTracker m;
  for (auto& n : names)
    m.mutable_subscribe()->add_names(n);
  return m;
}

TEST_CASE("A member joins with an invite and receives an org-signed certificate", "[service]") {
  World w;
  World::Member alice = w.Join("alice");
  auto checked = crypto::VerifyCertificate(alice.cert, w.state->org_key().public_key(), kNow,
                                           std::string_view("alice"));
  REQUIRE(checked.ok());
  CHECK(checked->identity_key == alice.key.public_key());
  CHECK(w.service->counters().joins == 1);
}

TEST_CASE("A wrong or reused invite is refused with a reason and changes nothing",
          "[service][error]") {
  World w;
  auto key = crypto::SigningKey::Generate();
  REQUIRE(key.ok());
  auto x = key->DeriveX25519();
  auto wrong = crypto::NewInviteSecret();
  auto reply = w.service->OnHello(1, proto::PURPOSE_JOIN, x.public_key, w.JoinPayload(*key, wrong),
                                  "127.0.0.1", kNow);
  REQUIRE(reply.ok());
  proto::JoinResponse resp;
  REQUIRE(resp.ParseFromArray(reply->payload.data(), static_cast<int>(reply->payload.size())));
  CHECK_FALSE(resp.accepted());
  CHECK_FALSE(resp.refusal().empty());
  CHECK(w.service->counters().refusals.at("join_unknown_invite") == 1);
  auto members = w.state->directory().ListMembers();
  REQUIRE(members.ok());
  CHECK(members->empty());

  SECTION("a key that is not the handshake's") {
    auto secret = crypto::NewInviteSecret();
    REQUIRE(w.state->directory()
                .CreateInvite("bob", crypto::HashInviteSecret(secret.view()), kNow, 60)
                .ok());
    auto other = crypto::SigningKey::Generate();
    REQUIRE(other.ok());
    auto r = w.service->OnHello(2, proto::PURPOSE_JOIN, x.public_key, w.JoinPayload(*other, secret),
                                "127.0.0.1", kNow);
    REQUIRE(r.ok());
    REQUIRE(resp.ParseFromArray(r->payload.data(), static_cast<int>(r->payload.size())));
    CHECK_FALSE(resp.accepted());
    // The invite is still good for the right key.
    auto ok = w.service->OnHello(3, proto::PURPOSE_JOIN, x.public_key, w.JoinPayload(*key, secret),
                                 "127.0.0.1", kNow);
    REQUIRE(ok.ok());
    REQUIRE(resp.ParseFromArray(ok->payload.data(), static_cast<int>(ok->payload.size())));
    CHECK(resp.accepted());
  }
  SECTION("garbage join payload is dropped without an answer") {
    Bytes garbage = {1, 2, 3};
    CHECK_FALSE(
        w.service->OnHello(2, proto::PURPOSE_JOIN, x.public_key, garbage, "127.0.0.1", kNow).ok());
  }
}

TEST_CASE("Two members online see each other's presence change", "[service]") {
  World w;
  auto alice = w.Join("alice");
  auto bob = w.Join("bob");
  SessionId a = w.Connect(alice);
  REQUIRE(w.Send(a, Subscribe({"bob"})).ok());
  auto out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].message.presence().entries(0).status() == proto::PRESENCE_OFFLINE);

  SessionId b = w.Connect(bob);
  out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].to == a);
  CHECK(out[0].message.presence().entries(0).name() == "bob");
  CHECK(out[0].message.presence().entries(0).status() == proto::PRESENCE_ONLINE);

  proto::ToTracker away;
  away.mutable_set_status()->set_status(proto::PRESENCE_AWAY);
  away.mutable_set_status()->set_text("lunch");
  REQUIRE(w.Send(b, away).ok());
  out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].message.presence().entries(0).text() == "lunch");

  w.service->OnClosed(b, kNow + 5);
  w.service->FlushDurable();
  out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].message.presence().entries(0).status() == proto::PRESENCE_OFFLINE);
  auto bob_row = w.state->directory().GetMember("bob");
  REQUIRE(bob_row.ok());
  CHECK(bob_row->last_seen == kNow + 5);
}

TEST_CASE("Lookup returns certificate and endpoints and is audited", "[service]") {
  World w;
  auto alice = w.Join("alice");
  auto bob = w.Join("bob");
  SessionId a = w.Connect(alice);
  SessionId b = w.Connect(bob);
  w.service->TakeOutgoing();
  proto::ToTracker announce;
  auto* e = announce.mutable_announce()->add_endpoints();
  e->set_address("10.1.2.3");
  e->set_port(7651);
  REQUIRE(w.Send(b, announce).ok());
  proto::ToTracker lookup;
  lookup.mutable_lookup()->set_request_id(42);
  lookup.mutable_lookup()->set_name("bob");
  REQUIRE(w.Send(a, lookup).ok());
  auto out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  const auto& result = out[0].message.lookup();
  CHECK(result.request_id() == 42);
  CHECK(result.found());
  CHECK(result.certificate().body() == bob.cert.body());
  // The LAN address announced, then the address the tracker saw.
  REQUIRE(result.endpoints_size() == 2);
  CHECK(result.endpoints(0).address() == "10.1.2.3");
  CHECK(result.endpoints(1).address() == "192.0.2.7");
  CHECK(result.endpoints(1).kind() == proto::Endpoint::KIND_PUBLIC);
  w.service->FlushDurable();
  auto audit = w.state->directory().ListAudit(1);
  REQUIRE(audit.ok());
  CHECK((*audit)[0].action == AuditAction::kLookup);
  CHECK((*audit)[0].actor == "alice");
}

TEST_CASE("A lookup that finds nobody says whether the name never existed or was revoked",
          "[service]") {
  World w;
  auto alice = w.Join("alice");
  auto bob = w.Join("bob");
  SessionId a = w.Connect(alice);
  w.service->TakeOutgoing();
  REQUIRE(w.service->Revoke("bob", "left", kNow).ok());
  w.service->TakeOutgoing();
  auto ask = [&](const std::string& name) {
    proto::ToTracker lookup;
    lookup.mutable_lookup()->set_request_id(7);
    lookup.mutable_lookup()->set_name(name);
    REQUIRE(w.Send(a, lookup).ok());
    auto out = w.service->TakeOutgoing();
    REQUIRE(out.size() == 1);
    REQUIRE(out[0].message.has_lookup());
    return out[0].message.lookup();
  };
  const proto::LookupResult typo = ask("bbo");
  CHECK_FALSE(typo.found());
  CHECK(typo.no_such_member());
  CHECK_FALSE(typo.revoked());
  const proto::LookupResult gone = ask("bob");
  CHECK_FALSE(gone.found());
  CHECK(gone.revoked());
  CHECK_FALSE(gone.no_such_member());
  const proto::LookupResult bad = ask("Not A Name");
  CHECK(bad.no_such_member());
}

TEST_CASE("Revoking a member closes their session, tells the others, refuses them later",
          "[service]") {
  World w;
  auto alice = w.Join("alice");
  auto bob = w.Join("bob");
  SessionId a = w.Connect(alice);
  SessionId b = w.Connect(bob);
  w.service->TakeOutgoing();
  REQUIRE(w.service->Revoke("bob", "left", kNow).ok());
  auto closing = w.service->TakeToClose();
  REQUIRE(closing.size() == 1);
  CHECK(closing[0] == b);
  bool told = false;
  for (auto& o : w.service->TakeOutgoing()) {
    if (o.to == a && o.message.has_revoked())
      told = o.message.revoked().name() == "bob";
  }
  CHECK(told);
  proto::SessionHello hello;
  *hello.mutable_certificate() = bob.cert;
  auto again = w.service->OnHello(99, proto::PURPOSE_TRACKER, bob.x.public_key, Serialize(hello),
                                  "127.0.0.1", kNow);
  REQUIRE(again.ok());
  proto::SessionWelcome welcome;
  REQUIRE(welcome.ParseFromArray(again->payload.data(), static_cast<int>(again->payload.size())));
  CHECK_FALSE(welcome.accepted());
  CHECK(welcome.refusal() == "membership revoked");
}

TEST_CASE("Outsiders and mismatched keys get no session", "[service][error]") {
  World w;
  auto alice = w.Join("alice");
  proto::SessionHello hello;
  *hello.mutable_certificate() = alice.cert;
  SECTION("the certificate belongs to someone else") {
    auto mallory = crypto::SigningKey::Generate();
    REQUIRE(mallory.ok());
    CHECK_FALSE(w.service
                    ->OnHello(7, proto::PURPOSE_TRACKER, mallory->DeriveX25519().public_key,
                              Serialize(hello), "127.0.0.1", kNow)
                    .ok());
  }
  SECTION("a forged signature") {
    hello.mutable_certificate()->mutable_signature()->at(0) ^= 1;
    CHECK_FALSE(w.service
                    ->OnHello(7, proto::PURPOSE_TRACKER, alice.x.public_key, Serialize(hello),
                              "127.0.0.1", kNow)
                    .ok());
  }
  SECTION("not a hello at all") {
    Bytes junk(40, 0xff);
    CHECK_FALSE(
        w.service->OnHello(7, proto::PURPOSE_TRACKER, alice.x.public_key, junk, "127.0.0.1", kNow)
            .ok());
  }
  CHECK(w.service->sessions() == 0);
}

TEST_CASE("Bad requests on a session are answered, garbage closes it", "[service][error]") {
  World w;
  auto alice = w.Join("alice");
  SessionId a = w.Connect(alice);
  w.service->TakeOutgoing();
  proto::ToTracker bad_status;
  bad_status.mutable_set_status()->set_status(proto::PRESENCE_OFFLINE);
  REQUIRE(w.Send(a, bad_status).ok());
  auto out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].message.has_error());

  proto::ToTracker bad_endpoint;
  bad_endpoint.mutable_announce()->add_endpoints()->set_address("not-an-ip");
  REQUIRE(w.Send(a, bad_endpoint).ok());
  REQUIRE(w.service->TakeOutgoing()[0].message.has_error());

  proto::ToTracker too_many = Subscribe(std::vector<std::string>(1001, "x"));
  for (int i = 0; i < 1001; ++i)
    too_many.mutable_subscribe()->set_names(i, std::to_string(i));
  REQUIRE(w.Send(a, too_many).ok());
  REQUIRE(w.service->TakeOutgoing()[0].message.has_error());

  Bytes garbage = {0xff, 0xff, 0xff};
  CHECK_FALSE(w.service->OnMessage(a, garbage, kNow).ok());
  CHECK_FALSE(w.service->OnMessage(a, Bytes(), kNow).ok());  // no body set
}

TEST_CASE("Lookups are rate limited per session", "[service][error]") {
  World w;
  auto alice = w.Join("alice");
  SessionId a = w.Connect(alice);
  proto::ToTracker lookup;
  lookup.mutable_lookup()->set_name("alice");
  for (size_t i = 0; i < kMaxLookupsPerSecond; ++i)
    REQUIRE(w.Send(a, lookup).ok());
  w.service->TakeOutgoing();
  REQUIRE(w.Send(a, lookup).ok());
  auto out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].message.has_error());
  REQUIRE(w.Send(a, lookup, kNow + 1).ok());
  CHECK(w.service->TakeOutgoing()[0].message.has_lookup());
}

TEST_CASE("Silent sessions are found for the server to close", "[service]") {
  World w;
  auto alice = w.Join("alice");
  SessionId a = w.Connect(alice);
  CHECK(w.service->SilentSince(kNow).empty());
  auto silent = w.service->SilentSince(kNow + 61);
  REQUIRE(silent.size() == 1);
  CHECK(silent[0] == a);
}

TEST_CASE("UDP tokens name the session's member until it closes", "[service]") {
  World w;
  auto alice = w.Join("alice");
  proto::SessionHello hello;
  *hello.mutable_certificate() = alice.cert;
  auto reply = w.service->OnHello(5, proto::PURPOSE_TRACKER, alice.x.public_key, Serialize(hello),
                                  "127.0.0.1", kNow);
  REQUIRE(reply.ok());
  proto::SessionWelcome welcome;
  REQUIRE(welcome.ParseFromArray(reply->payload.data(), static_cast<int>(reply->payload.size())));
  auto name = w.service->NameForUdpToken(AsBytes(welcome.udp_token()));
  REQUIRE(name.has_value());
  CHECK(*name == "alice");
  w.service->OnClosed(5, kNow);
  CHECK_FALSE(w.service->NameForUdpToken(AsBytes(welcome.udp_token())).has_value());
  Bytes wrong(kUdpTokenBytes, 0);
  CHECK_FALSE(w.service->NameForUdpToken(wrong).has_value());
}

TEST_CASE("The SessionWelcome names the second probe port once the server set it", "[service]") {
  World w;
  auto alice = w.Join("alice");
  auto welcome_port = [&](SessionId id) {
    proto::SessionHello hello;
    *hello.mutable_certificate() = alice.cert;
    auto reply = w.service->OnHello(id, proto::PURPOSE_TRACKER, alice.x.public_key,
                                    Serialize(hello), "127.0.0.1", kNow);
    REQUIRE(reply.ok());
    proto::SessionWelcome welcome;
    REQUIRE(welcome.ParseFromArray(reply->payload.data(), static_cast<int>(reply->payload.size())));
    REQUIRE(welcome.accepted());
    return welcome.second_probe_port();
  };
  CHECK(welcome_port(5) == 0);  // none
  w.service->set_second_probe_port(40123);
  CHECK(welcome_port(6) == 40123);
}

TEST_CASE("tracker.toml's second_probe_port is checked at Open", "[service][config]") {
  store::TempDir tmp;
  const std::string dir = tmp.File("t");
  REQUIRE(TrackerState::Init(dir, "Example", "127.0.0.1:7650").ok());
  std::string original;
  {
    std::ifstream in(dir + "/tracker.toml");
    original.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto open_with = [&](const std::string& line) {
    std::ofstream(dir + "/tracker.toml") << line << "\n" << original;
    return TrackerState::Open(dir);
  };
  SECTION("absent: listen's port + 1, marked as the default") {
    auto state = open_with("");
    REQUIRE(state.ok());
    CHECK((*state)->config().second_probe_port == 7651);
    CHECK((*state)->config().second_probe_port_is_default);
  }
  SECTION("0: a port the kernel picks, not the default") {
    auto state = open_with("second_probe_port = 0");
    REQUIRE(state.ok());
    CHECK((*state)->config().second_probe_port == 0);
    CHECK_FALSE((*state)->config().second_probe_port_is_default);
  }
  SECTION("a fixed port") {
    auto state = open_with("second_probe_port = 7651");
    REQUIRE(state.ok());
    CHECK((*state)->config().second_probe_port == 7651);
    CHECK_FALSE((*state)->config().second_probe_port_is_default);
  }
  SECTION("refused: listen's own port, out of range, not a number") {
    for (const char* line : {"second_probe_port = 7650", "second_probe_port = 65536",
                             "second_probe_port = -1", "second_probe_port = '7651'"}) {
      INFO(line);
      auto state = open_with(line);
      REQUIRE_FALSE(state.ok());
      CHECK(state.status().code() == Status::Code::kInvalidArgument);
      CHECK(state.status().ToString().find("second_probe_port") != std::string::npos);
    }
  }
}

TEST_CASE("The default second probe port is left to the kernel when listen's port has no successor",
          "[service][config]") {
  for (const char* listen : {"127.0.0.1:0", "127.0.0.1:65535"}) {
    INFO(listen);
    store::TempDir tmp;
    const std::string dir = tmp.File("t");
    REQUIRE(TrackerState::Init(dir, "Example", listen).ok());
    auto state = TrackerState::Open(dir);
    REQUIRE(state.ok());
    CHECK((*state)->config().second_probe_port == 0);
    CHECK_FALSE((*state)->config().second_probe_port_is_default);
  }
}

}  // namespace
}  // namespace confab::tracker
