// A ReplicaView in memory, built on the real sans-I/O Conversation (its
// acceptance rules, membership fold and MissingFor), for the reconcile
// session's tests and its fuzz target (so no Catch here: a broken setup
// aborts).
#pragma once

#include <cstdlib>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "peer/chat/reconcile_session.h"
#include "peer/chat/replica_view.h"

#include "chat_fixture.h"

namespace confab::peer::chat::testing {

inline void Must(bool ok) {
  if (!ok)
    std::abort();
}

class MemoryReplicas final : public ReplicaView {
 public:
  MemoryReplicas(const People& people, std::string self)
      : people_(people), self_(std::move(self)) {}

  const std::string& self() const { return self_; }

  Bytes AddDirect(const std::string& other) {
    Conversation c = *Conversation::Direct(self_, other);
    Bytes id = c.id();
    convs_.emplace(id, std::move(c));
    return id;
  }
  // A group created here by us.
  Bytes CreateGroup(const Bytes& id, std::vector<std::string> members) {
    members.push_back(self_);
    VerifiedEntry create = people_.Create(self_, id, members, {self_});
    convs_.emplace(id, *Conversation::FromCreate(std::move(create)));
    return id;
  }
  // A copy of another replica's conversation (as if reconciled long ago).
  void CopyFrom(const MemoryReplicas& other, const Bytes& id) {
    const Conversation& theirs = other.convs_.at(id);
    std::vector<const VerifiedEntry*> order = theirs.Ordered();
    if (theirs.is_group()) {
      convs_.emplace(id, *Conversation::FromCreate(*order.front()));
      order.erase(order.begin());
    } else {
      std::set<std::string> pair = theirs.CurrentMembership().members;
      pair.erase(self_);
      AddDirect(*pair.begin());
    }
    for (const VerifiedEntry* e : order)
      Must(convs_.at(id).Accept(*e, people_.lookup()).ok());
    convs_.at(id).TakeNewlyStored();
  }
  // A text entry written here; `lamport` 0 means the next one.
  VerifiedEntry Write(const Bytes& id, const std::string& text = "hi") {
    Conversation& c = convs_.at(id);
    VerifiedEntry e = people_.Text(self_, id, c.held(self_) + 1, c.next_lamport(), text);
    Must(c.Accept(e, people_.lookup()).ok());
    c.TakeNewlyStored();
    return e;
  }

  bool Has(const Bytes& id) const { return convs_.count(id) > 0; }
  const Conversation& conv(const Bytes& id) const { return convs_.at(id); }
  Conversation& conv(const Bytes& id) { return convs_.at(id); }
  std::vector<std::string> Texts(const Bytes& id) const {
    std::vector<std::string> out;
    if (!Has(id))
      return out;
    for (const VerifiedEntry* e : convs_.at(id).Ordered())
      out.push_back(e->body.author() + ":" + e->body.text());
    return out;
  }

  // What the tests look at.
  size_t commits = 0;
  size_t refused = 0;
  std::map<std::string, std::set<Bytes>> acked_by;  // peer -> entry ids
  std::map<std::string, std::map<Bytes, Vector>> peer_vectors;
  bool fail_receive = false;  // the store fails: nothing stored

  Result<DigestMap> SharedWith(const std::string& peer) override {
    DigestMap out;
    for (const auto& [id, c] : convs_) {
      if (c.CurrentMembership().members.count(peer))
        out[id] = VectorDigest(c.vector());
    }
    return out;
  }
  Result<Vector> VectorOf(const std::string& peer, ByteView conversation) override {
    auto it = convs_.find(ToBytes(conversation));
    if (it == convs_.end() || !it->second.CurrentMembership().members.count(peer))
      return Status::NotFound("not a conversation shared with " + peer);
    return it->second.vector();
  }
  Status OnPeerVector(const std::string& peer, ByteView conversation,
                      const Vector& theirs) override {
    if (convs_.count(ToBytes(conversation)))
      peer_vectors[peer][ToBytes(conversation)] = theirs;
    return Status::Ok();
  }
  Result<std::vector<proto::Entry>> MissingFor(const std::string& peer, ByteView conversation,
                                               const Vector& theirs, size_t limit) override {
    auto it = convs_.find(ToBytes(conversation));
    if (it == convs_.end() || !it->second.CurrentMembership().members.count(peer))
      return Status::NotFound("not a conversation shared with " + peer);
    std::vector<proto::Entry> out;
    for (const VerifiedEntry* e : it->second.MissingFor(peer, theirs, limit)) {
      proto::Entry w;
      w.set_signed_(std::string(AsChars(e->signed_bytes)));
      w.set_signature(std::string(AsChars(e->signature)));
      out.push_back(std::move(w));
    }
    return out;
  }
  Result<ReceivedBatch> Receive(const std::string& peer, const proto::EntryBatch& batch,
                                int64_t) override {
    if (fail_receive)
      return Status::IoError("disk full");
    ++commits;
    ReceivedBatch r;
    for (const proto::Entry& wire : batch.entries()) {
      Result<VerifiedEntry> e = VerifyEntry(wire);
      if (!e.ok()) {
        ++r.refused;
        continue;
      }
      Bytes id = ToBytes(AsBytes(e->body.conversation()));
      auto it = convs_.find(id);
      bool ok = false;
      if (it == convs_.end()) {
        ok = LearnGroup(peer, *e);
      } else if (it->second.CurrentMembership().members.count(peer)) {
        ok = it->second.Accept(*e, people_.lookup()).ok();
        it->second.TakeNewlyStored();
      }
      if (!ok) {
        ++r.refused;
        continue;
      }
      r.ack.add_ids(std::string(AsChars(ByteView(e->id))));
    }
    refused += r.refused;
    return r;
  }
  Status OnAcked(const std::string& peer, const proto::EntryAck& ack, int64_t) override {
    for (const std::string& id : ack.ids())
      acked_by[peer].insert(ToBytes(AsBytes(id)));
    return Status::Ok();
  }

 private:
  bool LearnGroup(const std::string& peer, const VerifiedEntry& e) {
    const proto::EntryBody& b = e.body;
    if (b.kind() != proto::ENTRY_GROUP_CREATE || convs_.size() >= kMaxConversations)
      return false;
    std::set<std::string> members(b.create().members().begin(), b.create().members().end());
    if (!members.count(self_) || !members.count(peer))
      return false;
    auto key = people_.lookup()(b.author());
    if (!key || *key != e.author_key())
      return false;
    Result<Conversation> c = Conversation::FromCreate(e);
    if (!c.ok())
      return false;
    convs_.emplace(ToBytes(AsBytes(b.conversation())), std::move(*c));
    return true;
  }

  const People& people_;
  std::string self_;
  std::map<Bytes, Conversation> convs_;
};

}  // namespace confab::peer::chat::testing
