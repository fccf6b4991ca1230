// Fuzzes the tracker's dispatcher: arbitrary bytes as a session's transport
// message (after a genuine join and session), as a session hello and as a
// join request. One tracker state directory is created per process.
//
// Input layout: byte 0 picks the entry point, the rest is the payload:
//   0  OnMessage on an admitted session (a ToTracker, usually garbage)
//   1  OnHello(PURPOSE_TRACKER) with the bytes as SessionHello
//   2  OnHello(PURPOSE_JOIN) with the bytes as JoinRequest
//   3  AdmitRelay (PURPOSE_RELAY) with the bytes as RelayHello, from alice
//      (alone in the directory, so no slot can exist for her: never admitted)
// Invariants: nothing crashes; a message error never leaves a session that
// the service no longer knows; garbage never admits a session; a mailbox
// deposit answered "stored" is held for its recipient (bob, a member with
// no session), and alice's fetches never return anyone else's envelopes.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "common/crypto/sodium.h"
#include "tracker/service.h"
#include "tracker/state.h"

namespace {

using namespace confab;
using namespace confab::tracker;

#define FUZZ_CHECK(cond)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      std::fprintf(stderr, "invariant failed: %s\n", #cond); \
      std::abort();                                          \
    }                                                        \
  } while (0)

constexpr int64_t kNow = 1'800'000'000;

struct World {
  World() {
    FUZZ_CHECK(crypto::InitSodium().ok());
    std::string tmpl = (std::filesystem::temp_directory_path() / "confab-fuzz-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    FUZZ_CHECK(TrackerState::Init(dir + "/t", "Fuzz", "127.0.0.1:7650").ok());
    auto opened = TrackerState::Open(dir + "/t");
    FUZZ_CHECK(opened.ok());
    state = std::move(opened).value();
    service = std::make_unique<TrackerService>(*state);

    // One genuine member with a session.
    auto secret = crypto::NewInviteSecret();
    FUZZ_CHECK(state->directory()
                   .CreateInvite("alice", crypto::HashInviteSecret(secret.view()), kNow, 3600)
                   .ok());
    auto key = crypto::SigningKey::Generate();
    FUZZ_CHECK(key.ok());
    x = key->DeriveX25519();
    proto::JoinRequest req;
    req.set_invite_secret(secret.data(), secret.size());
    req.set_identity_key(key->public_key().data(), key->public_key().size());
    std::string payload = req.SerializeAsString();
    auto reply =
        service->OnHello(1, proto::PURPOSE_JOIN, x.public_key, AsBytes(payload), "10.0.0.1", kNow);
    FUZZ_CHECK(reply.ok());
    proto::JoinResponse resp;
    FUZZ_CHECK(resp.ParseFromArray(reply->payload.data(), static_cast<int>(reply->payload.size())));
    FUZZ_CHECK(resp.accepted());
    proto::SessionHello hello;
    *hello.mutable_certificate() = resp.certificate();
    std::string hello_bytes = hello.SerializeAsString();
    auto welcome = service->OnHello(kSession, proto::PURPOSE_TRACKER, x.public_key,
                                    AsBytes(hello_bytes), "10.0.0.1", kNow);
    FUZZ_CHECK(welcome.ok());
    FUZZ_CHECK(service->sessions() == 1);

    // A second member without a session, whom alice's deposits may reach.
    auto bob_secret = crypto::NewInviteSecret();
    const auto bob_hash = crypto::HashInviteSecret(bob_secret.view());
    FUZZ_CHECK(state->directory().CreateInvite("bob", bob_hash, kNow, 3600).ok());
    auto bob_key = crypto::SigningKey::Generate();
    FUZZ_CHECK(bob_key.ok());
    FUZZ_CHECK(state->directory()
                   .Enroll(bob_hash, bob_key->public_key(), kNow,
                           [&](const Issuance& in) {
                             return state->org_key().Issue(in.name, bob_key->public_key(),
                                                           in.serial, in.issued_at, 3600);
                           })
                   .ok());
  }
  ~World() {
    service.reset();
    state.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  static constexpr SessionId kSession = 2;
  std::string dir;
  std::unique_ptr<TrackerState> state;
  std::unique_ptr<TrackerService> service;
  crypto::X25519KeyPair x;
  SessionId next = 100;
};

World& TheWorld() {
  static World* world = new World();  // lives for the process, as libFuzzer expects
  return *world;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  World& w = TheWorld();
  ByteView payload(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      Status s = w.service->OnMessage(World::kSession, payload, kNow);
      FUZZ_CHECK(w.service->sessions() == 1);
      if (!s.ok()) {
        FUZZ_CHECK(s.code() == Status::Code::kCorruption ||
                   s.code() == Status::Code::kResourceExhausted);
      }
      break;
    }
    case 1: {
      SessionId id = w.next++;
      auto reply =
          w.service->OnHello(id, proto::PURPOSE_TRACKER, w.x.public_key, payload, "10.0.0.2", kNow);
      // Garbage never carries alice's genuine certificate, so never admits.
      if (w.service->sessions() != 1) {
        // Only possible if the fuzzer rebuilt a genuine hello: then it replaced
        // the session, which must still be exactly one.
        FUZZ_CHECK(w.service->sessions() == 2);
        for (SessionId old : w.service->TakeToClose())
          w.service->OnClosed(old, kNow);
        w.service->OnClosed(id, kNow);
      }
      (void)reply;
      break;
    }
    case 2: {
      auto reply = w.service->OnHello(w.next++, proto::PURPOSE_JOIN, w.x.public_key, payload,
                                      "10.0.0.3", kNow);
      (void)reply;
      break;
    }
    case 3: {
      auto admission = w.service->AdmitRelay(w.x.public_key, payload, 1'000'000);
      FUZZ_CHECK(!admission.ok() || !admission->accepted);
      break;
    }
  }
  w.service->TakeRelaysToClose();
  for (const Outgoing& out : w.service->TakeOutgoing()) {
    if (out.message.has_mailbox_deposited() && out.message.mailbox_deposited().stored()) {
      const uint64_t id = out.message.mailbox_deposited().id();
      auto held = w.state->directory().mailbox()->Fetch("bob", id - 1, 1, 1 << 20);
      FUZZ_CHECK(held.ok() && held->envelopes.size() == 1 && held->envelopes[0].id == id);
    }
    if (out.message.has_mailbox_envelopes()) {
      // Alice's own mailbox: nothing can be deposited for her (to self).
      FUZZ_CHECK(out.message.mailbox_envelopes().envelopes_size() == 0);
    }
  }
  w.service->TakeToClose();
  w.service->FlushDurable();
  return 0;
}
