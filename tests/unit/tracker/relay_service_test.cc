// The relay's requests through TrackerService (issue 15): the protocol
// version in the welcome, relay requests, offers and notices, the relay
// hello's checks, revocation. Sans-I/O: the service is driven directly.
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "common/protocol/tracker_features.h"
#include "tracker/service.h"

#include "../store/temp_dir.h"

namespace confab::tracker {
namespace {

constexpr int64_t kNow = 1'800'000'000;

template <typename Message>
Bytes Serialize(const Message& m) {
  std::string s = m.SerializeAsString();
  return ToBytes(AsBytes(s));
}

// A tracker state directory (tracker.toml with `extra_toml` prepended) and
// members enrolled in it.
struct RelayWorld {
  explicit RelayWorld(const std::string& extra_toml = "") {
    const std::string dir = tmp.File("t");
    REQUIRE(TrackerState::Init(dir, "Example", "127.0.0.1:7650").ok());
    if (!extra_toml.empty()) {
      std::string original;
      {
        std::ifstream in(dir + "/tracker.toml");
        original.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      // Appended: tracker.toml's own tables come first, so a new table
      // added last cannot capture its keys.
      std::ofstream(dir + "/tracker.toml") << original << "\n" << extra_toml << "\n";
    }
    auto opened = TrackerState::Open(dir);
    INFO(opened.status().ToString());
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

  Member Enroll(const std::string& name) {
    auto secret = crypto::NewInviteSecret();
    const auto hash = crypto::HashInviteSecret(secret.view());
    REQUIRE(state->directory().CreateInvite(name, hash, kNow, 3600).ok());
    auto key = crypto::SigningKey::Generate();
    REQUIRE(key.ok());
    const crypto::OrgKey& org = state->org_key();
    auto member = state->directory().Enroll(hash, key->public_key(), kNow, [&](const Issuance& in) {
      return org.Issue(in.name, key->public_key(), in.serial, in.issued_at, 3600 * 24);
    });
    REQUIRE(member.ok());
    proto::Certificate cert;
    REQUIRE(cert.ParseFromArray(member->certificate.data(),
                                static_cast<int>(member->certificate.size())));
    auto x = key->DeriveX25519();
    return Member{name, std::move(key).value(), std::move(x), std::move(cert)};
  }

  // Opens a tracker session; returns its id and keeps the welcome.
  SessionId Connect(const Member& m) {
    SessionId id = next_id++;
    proto::SessionHello hello;
    *hello.mutable_certificate() = m.cert;
    auto reply = service->OnHello(id, proto::PURPOSE_TRACKER, m.x.public_key, Serialize(hello),
                                  "192.0.2.7", kNow);
    REQUIRE(reply.ok());
    REQUIRE(welcome.ParseFromArray(reply->payload.data(), static_cast<int>(reply->payload.size())));
    INFO(welcome.refusal());
    REQUIRE(welcome.accepted());
    return id;
  }

  Status Send(SessionId id, const proto::ToTracker& m) {
    return service->OnMessage(id, Serialize(m), kNow);
  }

  store::TempDir tmp;
  std::unique_ptr<TrackerState> state;
  std::unique_ptr<TrackerService> service;
  proto::SessionWelcome welcome;  // the last one
  SessionId next_id = 1;
};

TEST_CASE("The welcome names the tracker's protocol version and offers the relay",
          "[service][relay]") {
  RelayWorld w;
  auto alice = w.Enroll("alice");
  w.Connect(alice);
  CHECK(w.welcome.protocol_version() == protocol::kTrackerProtocolVersion);
  CHECK(protocol::RelayOffered(w.welcome).ok());
}

TEST_CASE("A tracker with the relay disabled in tracker.toml does not offer it",
          "[service][relay]") {
  RelayWorld w("[relay]\nenabled = false");
  auto alice = w.Enroll("alice");
  w.Connect(alice);
  CHECK(w.welcome.protocol_version() == protocol::kTrackerProtocolVersion);
  CHECK(protocol::RelayOffered(w.welcome).message() == "relay: disabled on the tracker");
}

TEST_CASE("A request this tracker does not know is answered with an error and the session goes on",
          "[service][relay][error]") {
  RelayWorld w;
  auto alice = w.Enroll("alice");
  SessionId a = w.Connect(alice);
  // The session's first frame may bring a certificate renewal (or the
  // notice that one needs a newer node): out of the way first.
  proto::ToTracker first;
  first.mutable_keepalive()->set_sequence(6);
  REQUIRE(w.Send(a, first).ok());
  w.service->TakeOutgoing();
  // A ToTracker whose only field is one this build has never heard of
  // (field 99, varint 1), as a newer node would send.
  const Bytes from_the_future = {0x98, 0x06, 0x01};
  REQUIRE(w.service->OnMessage(a, from_the_future, kNow).ok());
  auto out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].message.has_error());
  CHECK(out[0].message.error().message().find("unknown request") != std::string::npos);
  CHECK(w.service->TakeToClose().empty());
  // The session still answers.
  proto::ToTracker keepalive;
  keepalive.mutable_keepalive()->set_sequence(7);
  REQUIRE(w.Send(a, keepalive).ok());
  out = w.service->TakeOutgoing();
  REQUIRE(out.size() == 1);
  CHECK(out[0].message.keepalive_ack().sequence() == 7);
}

}  // namespace
}  // namespace confab::tracker
