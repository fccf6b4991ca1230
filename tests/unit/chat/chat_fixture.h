// Persons with fixed keys and helpers to write entries, for the conversation
// tests.
#pragma once

#include <map>
#include <string>

#include "peer/chat/conversation.h"

namespace confab::peer::chat::testing {

class People {
 public:
  People() {
    const char* names[] = {"alice", "bob", "carol", "dave", "erin"};
    uint8_t n = 1;
    for (const char* name : names) {
      Bytes seed(32, n++);
      keys_.emplace(name, std::move(*crypto::SigningKey::FromSeed(seed)));
    }
  }
  const crypto::SigningKey& key(const std::string& name) const { return keys_.at(name); }
  KeyLookup lookup() const {
    return [this](const std::string& name) -> std::optional<crypto::Ed25519PublicKey> {
      auto it = keys_.find(name);
      if (it == keys_.end())
        return std::nullopt;
      return it->second.public_key();
    };
  }

  // Signs `body` as `author` (sets author, seq, lamport, conversation).
  proto::Entry Sign(const std::string& author, const Bytes& conv, uint64_t seq, uint64_t lamport,
                    proto::EntryBody body) const {
    body.set_conversation(std::string(AsChars(conv)));
    body.set_author(author);
    body.set_seq(seq);
    body.set_lamport(lamport);
    auto e = SignEntry(key(author), std::move(body));
    return *e;
  }
  VerifiedEntry Text(const std::string& author, const Bytes& conv, uint64_t seq, uint64_t lamport,
                     const std::string& text = "hi") const {
    proto::EntryBody b;
    b.set_kind(proto::ENTRY_TEXT);
    b.set_text(text);
    return *VerifyEntry(Sign(author, conv, seq, lamport, std::move(b)));
  }
  VerifiedEntry Create(const std::string& author, const Bytes& conv,
                       std::vector<std::string> members, std::vector<std::string> admins) const {
    proto::EntryBody b;
    b.set_kind(proto::ENTRY_GROUP_CREATE);
    b.mutable_create()->set_name("team");
    for (auto& m : members)
      b.mutable_create()->add_members(m);
    for (auto& a : admins)
      b.mutable_create()->add_admins(a);
    return *VerifyEntry(Sign(author, conv, 1, 1, std::move(b)));
  }
  VerifiedEntry Remove(const std::string& author, const Bytes& conv, uint64_t seq, uint64_t lamport,
                       const std::string& person, uint64_t cut) const {
    proto::EntryBody b;
    b.set_kind(proto::ENTRY_GROUP_REMOVE);
    b.mutable_remove()->set_person(person);
    b.mutable_remove()->set_cut_seq(cut);
    return *VerifyEntry(Sign(author, conv, seq, lamport, std::move(b)));
  }
  VerifiedEntry Add(const std::string& author, const Bytes& conv, uint64_t seq, uint64_t lamport,
                    const std::string& person) const {
    proto::EntryBody b;
    b.set_kind(proto::ENTRY_GROUP_ADD);
    b.mutable_add()->add_members(person);
    return *VerifyEntry(Sign(author, conv, seq, lamport, std::move(b)));
  }

 private:
  std::map<std::string, crypto::SigningKey> keys_;
};

inline Bytes GroupIdOf(uint8_t n) {
  return Bytes(kGroupIdBytes, n);
}

}  // namespace confab::peer::chat::testing
