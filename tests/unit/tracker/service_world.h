// A tracker state directory driven through TrackerService directly
// (sans-I/O): tracker.toml with extra tables, members enrolled in its
// directory, and sessions opened with their certificates. Shared by the
// relay's and the mailbox's service tests.
#pragma once

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "tracker/service.h"

#include "../store/temp_dir.h"

namespace confab::tracker::testing {

inline constexpr int64_t kNow = 1'800'000'000;

template <typename Message>
Bytes Serialize(const Message& m) {
  std::string s = m.SerializeAsString();
  return ToBytes(AsBytes(s));
}

struct ServiceWorld {
  // `extra_toml` is appended: tracker.toml's own tables come first, so a
  // new table added last cannot capture their keys. `cert_lifetime_s`: the
  // members' certificates.
  explicit ServiceWorld(const std::string& extra_toml = "", int64_t cert_lifetime_s = 365 * 86400)
      : dir(tmp.File("t")), cert_lifetime_s(cert_lifetime_s) {
    REQUIRE(TrackerState::Init(dir, "Example", "127.0.0.1:7650").ok());
    if (!extra_toml.empty()) {
      std::string original;
      {
        std::ifstream in(dir + "/tracker.toml");
        original.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      std::ofstream(dir + "/tracker.toml") << original << "\n" << extra_toml << "\n";
    }
    Restart();
  }

  // A new service over the state directory opened again, as after a
  // restart of the tracker.
  void Restart() {
    service.reset();
    state.reset();
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
      return org.Issue(in.name, key->public_key(), in.serial, in.issued_at, cert_lifetime_s);
    });
    REQUIRE(member.ok());
    proto::Certificate cert;
    REQUIRE(cert.ParseFromArray(member->certificate.data(),
                                static_cast<int>(member->certificate.size())));
    auto x = key->DeriveX25519();
    return Member{name, std::move(key).value(), std::move(x), std::move(cert)};
  }

  // Opens a tracker session with a hello of `protocol_version` (0: unset);
  // returns its id and keeps the welcome.
  SessionId Connect(const Member& m, uint32_t protocol_version = 0) {
    SessionId id = next_id++;
    proto::SessionHello hello;
    *hello.mutable_certificate() = m.cert;
    if (protocol_version != 0)
      hello.set_protocol_version(protocol_version);
    auto reply = service->OnHello(id, proto::PURPOSE_TRACKER, m.x.public_key, Serialize(hello),
                                  "192.0.2.7", kNow);
    REQUIRE(reply.ok());
    REQUIRE(welcome.ParseFromArray(reply->payload.data(), static_cast<int>(reply->payload.size())));
    INFO(welcome.refusal());
    REQUIRE(welcome.accepted());
    return id;
  }

  Status Send(SessionId id, const proto::ToTracker& m, int64_t now = kNow) {
    return service->OnMessage(id, Serialize(m), now);
  }

  store::TempDir tmp;
  const std::string dir;
  const int64_t cert_lifetime_s;
  std::unique_ptr<TrackerState> state;
  std::unique_ptr<TrackerService> service;
  proto::SessionWelcome welcome;  // the last one
  SessionId next_id = 1;
};

}  // namespace confab::tracker::testing
