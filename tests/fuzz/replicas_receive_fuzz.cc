// libFuzzer: Replicas (the node's conversation model, over a real
// confab.db) fed what a hostile member's node can send. The first byte
// picks what the rest is:
//   0: an EntryBatch, received from bob (entries as they come: bad
//      signatures, unknown conversations, claimed authors...);
//   1: an EntryBatch whose entries' `signed` are EntryBodies that this
//      target signs as the person the signature's first byte picks (a
//      fuzzer cannot forge signatures), so the acceptance rules, learnt
//      groups and the one commit per batch see well-signed hostile bodies;
//   2: an EntryAck from bob.
// Every path must refuse or store without crashing, and the model must
// still answer for every conversation afterwards.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "peer/chat/replicas.h"
#include "peer/store/peer_database.h"

using namespace confab;
using namespace confab::peer::chat;

namespace {

const char* kNames[] = {"alice", "bob", "carol"};

struct World {
  std::map<std::string, crypto::SigningKey> keys;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<ConversationStore> store;
  std::unique_ptr<Replicas> replicas;
  Bytes team;
};

World& TheWorld() {
  static World* w = [] {
    auto* world = new World;
    uint8_t n = 1;
    for (const char* name : kNames)
      world->keys.emplace(name, std::move(*crypto::SigningKey::FromSeed(Bytes(32, n++))));
    std::string dir = (std::filesystem::temp_directory_path() / "replicas_fuzz.XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr)
      abort();
    world->db = std::move(*peer::OpenPeerDatabase(dir + "/confab.db"));
    world->store = std::move(*ConversationStore::Open(
        world->db.get(), *peer::BodyCipher::FromIdentitySeed(Bytes(32, 1)), "alice"));
    world->replicas = std::make_unique<Replicas>(
        world->store.get(), &world->keys.at("alice"),
        [world](const std::string& name) -> std::optional<crypto::Ed25519PublicKey> {
          auto it = world->keys.find(name);
          if (it == world->keys.end())
            return std::nullopt;
          return it->second.public_key();
        });
    world->team = *world->replicas->CreateGroup("team", {"bob", "carol"}, 1);
    (void)world->replicas->EnsureDirect("bob");
    return world;
  }();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1 << 18))
    return 0;
  World& w = TheWorld();
  const uint8_t mode = data[0];
  const std::string in(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode == 0 || mode == 1) {
    proto::EntryBatch batch;
    if (!batch.ParseFromString(in) || batch.entries_size() > 64)
      return 0;
    if (mode == 1) {
      for (proto::Entry& e : *batch.mutable_entries()) {
        proto::EntryBody body;
        if (!body.ParseFromString(e.signed_()))
          continue;
        const char* who =
            kNames[e.signature().empty() ? 1 : static_cast<uint8_t>(e.signature()[0]) % 3];
        if (body.conversation().empty())
          body.set_conversation(std::string(AsChars(w.team)));
        body.set_author(who);
        auto signed_entry = SignEntry(w.keys.at(who), std::move(body));
        if (signed_entry.ok())
          e = *signed_entry;
      }
    }
    (void)w.replicas->Receive("bob", batch, 2);
  } else if (mode == 2) {
    proto::EntryAck ack;
    if (!ack.ParseFromString(in))
      return 0;
    (void)w.replicas->OnAcked("bob", ack, 3);
  }
  // Whatever was stored still loads, orders and answers.
  w.replicas->Forget();
  auto shared = w.replicas->SharedWith("bob");
  if (shared.ok()) {
    for (const auto& [id, digest] : *shared) {
      (void)w.replicas->History(id);
      (void)w.replicas->MissingFor("bob", id, Vector{}, 8);
    }
  }
  return 0;
}
