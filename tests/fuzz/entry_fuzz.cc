// libFuzzer: entries and reconcile messages from a hostile member.
// The first byte picks what the rest is:
//   0: a serialized Entry, parsed and verified (ParseEntry) and offered to a
//      direct conversation;
//   1: a ReconcileMessage; every entry of a batch is verified and offered;
//   2: a serialized EntryBody that this target signs with a fixed key (a
//      fuzzer cannot forge signatures), so the acceptance rules and the
//      membership fold of a group see well-signed hostile bodies.
// Every path must refuse or store without crashing.
#include <cstddef>
#include <cstdint>

#include "peer/chat/conversation.h"
#include "proto/conversation.pb.h"

using namespace confab;
using namespace confab::peer::chat;

namespace {

const crypto::SigningKey& Key() {
  static const crypto::SigningKey key = *crypto::SigningKey::FromSeed(Bytes(32, 1));
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1 << 20))
    return 0;
  uint8_t mode = data[0];
  ByteView in(data + 1, size - 1);
  KeyLookup keys = [](const std::string&) -> std::optional<crypto::Ed25519PublicKey> {
    return Key().public_key();
  };
  auto direct = Conversation::Direct("alice", "bob");
  if (mode == 0) {
    if (auto e = ParseEntry(in); e.ok()) {
      if (auto g = Conversation::FromCreate(*e); g.ok())
        (void)g->CurrentMembership();
      (void)direct->Accept(std::move(*e), keys);
    }
  } else if (mode == 1) {
    proto::ReconcileMessage m;
    if (m.ParseFromArray(in.data(), static_cast<int>(in.size())) && m.has_entries()) {
      for (const proto::Entry& raw : m.entries().entries()) {
        auto e = VerifyEntry(raw);
        if (e.ok())
          (void)direct->Accept(std::move(*e), keys);
      }
      (void)direct->MissingFor("bob", {});
    }
  } else if (mode == 2) {
    proto::EntryBody create;
    create.set_conversation(std::string(kGroupIdBytes, '\x07'));
    create.set_author("alice");
    create.set_seq(1);
    create.set_lamport(1);
    create.set_kind(proto::ENTRY_GROUP_CREATE);
    create.mutable_create()->add_members("alice");
    create.mutable_create()->add_members("bob");
    create.mutable_create()->add_admins("alice");
    auto group = Conversation::FromCreate(*VerifyEntry(*SignEntry(Key(), create)));
    if (!group.ok())
      __builtin_trap();
    proto::EntryBody body;
    if (!body.ParseFromArray(in.data(), static_cast<int>(in.size())))
      return 0;
    auto signed_entry = SignEntry(Key(), body);
    if (!signed_entry.ok())
      return 0;
    auto e = VerifyEntry(*signed_entry);
    if (!e.ok())
      __builtin_trap();  // what SignEntry made must verify
    (void)group->Accept(std::move(*e), keys);
    (void)group->CurrentMembership();
    (void)group->Ordered();
    (void)group->MissingFor("bob", {});
  }
  return 0;
}
