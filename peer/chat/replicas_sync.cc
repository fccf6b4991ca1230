// Replicas as the reconcile session sees it (ReplicaView), and the one
// commit every change goes through.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "peer/chat/replicas.h"

namespace confab::peer::chat {
namespace {

bool SameId(ByteView a, ByteView b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

Status Replicas::RefreshStates(Replica& r, int64_t now_ms,
                               std::vector<std::pair<Bytes, MessageState>>& moved) {
  for (auto& [id, state] : r.own) {
    if (state == MessageState::kDelivered)
      continue;
    const VerifiedEntry* e = r.conv.Find(id);
    if (e == nullptr)
      continue;
    const MessageState next = StateFor(r, e->body.seq());
    if (static_cast<int>(next) > static_cast<int>(state)) {
      state = next;
      moved.emplace_back(Bytes(id.begin(), id.end()), next);
    }
  }
  if (moved.empty())
    return Status::Ok();
  return store_->SetStates(r.info.id, moved, now_ms);
}

Status Replicas::Persist(std::map<Bytes, Change>& changes, int64_t now_ms, MessageState own_state) {
  auto forget = [&] {
    for (auto& [id, c] : changes)
      cache_.erase(id);
  };
  Result<store::Transaction> tx = store_->BeginBatch();
  if (!tx.ok()) {
    forget();
    return tx.status();
  }
  auto apply = [&]() -> Status {
    for (auto& [id, c] : changes) {
      Replica& r = *c.replica;
      if (c.created) {
        if (r.info.is_group()) {
          CONFAB_RETURN_IF_ERROR(store_->CreateGroup(id, r.info.name, r.conv.CurrentMembership()));
        } else {
          CONFAB_RETURN_IF_ERROR(store_->EnsureDirect(r.info.peer).status());
        }
      }
      if (!c.stored.empty())
        CONFAB_RETURN_IF_ERROR(store_->StoreEntries(id, c.stored, now_ms, own_state).status());
      for (const VerifiedEntry& e : c.pending)
        CONFAB_RETURN_IF_ERROR(store_->AddPending(id, e, now_ms));
      if (c.membership && r.info.is_group())
        CONFAB_RETURN_IF_ERROR(store_->SetMembers(id, r.conv.CurrentMembership()));
      for (const std::string& peer : c.vectors)
        CONFAB_RETURN_IF_ERROR(store_->SaveVector(peer, id, r.held_by[peer]));
      CONFAB_RETURN_IF_ERROR(RefreshStates(r, now_ms, c.moved));
    }
    return store_->CommitBatch(*tx);
  };
  Status s = apply();
  if (!s.ok()) {
    forget();
    return s;
  }
  Notify(changes, now_ms);
  return s;
}

void Replicas::Notify(const std::map<Bytes, Change>& changes, int64_t now_ms) const {
  if (observer_ == nullptr)
    return;
  for (const auto& [id, c] : changes) {
    const Replica& r = *c.replica;
    std::vector<HistoryEntry> fresh;
    for (const VerifiedEntry& e : c.stored) {
      if (e.body.author() == self())
        continue;  // ours: the caller that wrote it reports it
      HistoryEntry h;
      h.entry.conversation = id;
      h.entry.id = Bytes(e.id.begin(), e.id.end());
      h.entry.author = e.body.author();
      h.entry.direction = Direction::kIn;
      h.entry.seq = e.body.seq();
      h.entry.lamport = e.body.lamport();
      h.entry.kind = e.body.kind();
      h.entry.sent_ms = e.body.sent_unix_ms();
      h.entry.received_ms = now_ms;
      h.entry.state = MessageState::kReceived;
      h.entry.state_ms = now_ms;
      h.entry.text = e.body.text();
      fresh.push_back(std::move(h));
    }
    if (!fresh.empty())
      observer_->OnEntriesStored(r.info, fresh);
    std::vector<HistoryEntry> moved;
    for (const auto& [entry_id, state] : c.moved) {
      HistoryEntry h;
      h.entry.conversation = id;
      h.entry.id = entry_id;
      h.entry.author = self();
      h.entry.direction = Direction::kOut;
      h.entry.state = state;
      h.entry.state_ms = now_ms;
      EntryId eid{};
      if (entry_id.size() == eid.size()) {
        std::copy(entry_id.begin(), entry_id.end(), eid.begin());
        if (const VerifiedEntry* e = r.conv.Find(eid)) {
          h.entry.seq = e->body.seq();
          h.delivered_to = Holders(r, self(), e->body.seq());
        }
      }
      moved.push_back(std::move(h));
    }
    if (!moved.empty())
      observer_->OnStatesMoved(r.info, moved);
  }
}

Result<DigestMap> Replicas::SharedWith(const std::string& peer) {
  // A round with `peer` begins here: a group the last one passed on that
  // never counted us as a member is dropped, unwritten.
  learning_.erase(peer);
  CONFAB_ASSIGN_OR_RETURN(std::vector<Bytes> ids, store_->ConversationsWith(peer));
  DigestMap out;
  for (const Bytes& id : ids) {
    CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(id));
    if (r->conv.CurrentMembership().members.count(peer))
      out.emplace(id, VectorDigest(r->conv.vector()));
  }
  return out;
}

Result<Vector> Replicas::VectorOf(const std::string& peer, ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(conversation));
  if (!r->conv.CurrentMembership().members.count(peer))
    return Status::NotFound("not a conversation shared with " + peer);
  return r->conv.vector();
}

Status Replicas::OnPeerVector(const std::string& peer, ByteView conversation,
                              const Vector& theirs) {
  Result<Replica*> r = Load(conversation);
  if (r.status().code() == Status::Code::kNotFound)
    return Status::Ok();
  CONFAB_RETURN_IF_ERROR(r.status());
  if (!(*r)->conv.CurrentMembership().members.count(peer))
    return Status::Ok();
  (*r)->held_by[peer] = theirs;
  std::map<Bytes, Change> changes;
  Change& c = changes[(*r)->info.id];
  c.replica = *r;
  c.vectors.insert(peer);
  // The interface carries no clock here; the mark's time is ours.
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  return Persist(changes, now_ms, MessageState::kSent);
}

Result<std::vector<proto::Entry>> Replicas::MissingFor(const std::string& peer,
                                                       ByteView conversation, const Vector& theirs,
                                                       size_t limit) {
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(conversation));
  if (!r->conv.CurrentMembership().members.count(peer))
    return Status::NotFound("not a conversation shared with " + peer);
  std::vector<proto::Entry> out;
  for (const VerifiedEntry* e : r->conv.MissingFor(peer, theirs, limit)) {
    proto::Entry w;
    w.set_signed_(std::string(AsChars(e->signed_bytes)));
    w.set_signature(std::string(AsChars(e->signature)));
    out.push_back(std::move(w));
  }
  return out;
}

Result<ReceivedBatch> Replicas::Receive(const std::string& peer, const proto::EntryBatch& batch,
                                        int64_t now_ms) {
  ReceivedBatch out;
  std::map<Bytes, Change> changes;
  auto refuse = [&](const Status& why) {
    spdlog::warn("refused an entry from {}: {}", peer, why.ToString());
    ++out.refused;
  };
  auto ack = [&](const EntryId& id) { out.ack.add_ids(std::string(AsChars(id))); };
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> known, store_->Conversations());
  size_t conversations = known.size();
  std::map<Bytes, Learning>& learning = learning_[peer];
  for (const proto::Entry& wire : batch.entries()) {
    Result<VerifiedEntry> v = VerifyEntry(wire);
    if (!v.ok()) {
      refuse(v.status());
      continue;
    }
    const proto::EntryBody& b = v->body;
    const Bytes cid = ToBytes(AsBytes(b.conversation()));
    Replica* r = nullptr;
    Learning* l = nullptr;
    if (auto it = learning.find(cid); it != learning.end()) {
      // Whether `peer` may pass it on is known once we are a member.
      l = &it->second;
      r = l->replica.get();
    } else if (Result<Replica*> loaded = Load(cid); loaded.ok()) {
      r = *loaded;
      if (!r->conv.CurrentMembership().members.count(peer)) {
        refuse(Status::PermissionDenied("passed on by " + peer + ", not a member of it"));
        continue;
      }
    } else if (loaded.status().code() != Status::Code::kNotFound) {
      return loaded.status();
    } else {
      // A conversation we do not hold: the direct one with `peer`, or a
      // group from its creation entry, learnt once the fold counts us and
      // `peer` as members (below, after the batch).
      if (conversations >= kMaxConversations) {
        refuse(Status::ResourceExhausted("this node holds " + std::to_string(kMaxConversations) +
                                         " conversations"));
        continue;
      }
      ConversationInfo info;
      info.id = cid;
      Result<Bytes> direct = DirectConversationId(self(), peer);
      if (direct.ok() && SameId(*direct, cid)) {
        info.peer = peer;
        auto fresh = std::unique_ptr<Replica>(
            new Replica{info, std::move(*Conversation::Direct(self(), peer)), {}, {}});
        r = fresh.get();
        cache_.emplace(cid, std::move(fresh));
        ++conversations;
        changes[cid].replica = r;
        changes[cid].created = true;
      } else if (IsGroupId(cid) && b.kind() == proto::ENTRY_GROUP_CREATE) {
        if (learning.size() >= kMaxLearningGroups) {
          refuse(Status::ResourceExhausted(
              "already learning " + std::to_string(kMaxLearningGroups) + " groups from " + peer));
          continue;
        }
        std::optional<crypto::Ed25519PublicKey> k = Lookup()(b.author());
        if (!k || *k != v->author_key()) {
          refuse(Status::AuthFailed("group creation entry claims author " + b.author() +
                                    " but is not signed by that person's key"));
          continue;
        }
        const std::string author = b.author();
        Learning fresh;
        fresh.name = b.create().name();
        fresh.bytes = v->signed_bytes.size();
        Result<Conversation> c = Conversation::FromCreate(std::move(*v));
        if (!c.ok()) {
          refuse(c.status());
          continue;
        }
        fresh.replica = std::unique_ptr<Replica>(new Replica{info, std::move(*c), {}, {}});
        Replica& n = *fresh.replica;
        for (const EntryId& id : n.conv.TakeNewlyStored()) {
          fresh.stored.push_back(*n.conv.Find(id));
          fresh.unacked.push_back(id);
        }
        Vector& theirs = n.held_by[peer];
        theirs[author] = std::max<uint64_t>(theirs[author], 1);
        learning.emplace(cid, std::move(fresh));
        continue;
      } else {
        refuse(
            Status::InvalidArgument("an entry of an unknown conversation that is not its "
                                    "creation entry"));
        continue;
      }
    }
    const EntryId id = v->id;
    const std::string author = b.author();
    const uint64_t seq = b.seq();
    VerifiedEntry copy = *v;
    const size_t size = copy.signed_bytes.size();
    Result<AcceptOutcome> outcome = r->conv.Accept(std::move(*v), Lookup());
    if (!outcome.ok()) {
      refuse(outcome.status());
      continue;
    }
    Change scratch;
    Change& ch = l != nullptr ? scratch : changes[cid];
    ch.replica = r;
    switch (*outcome) {
      case AcceptOutcome::kDuplicate:
        break;
      case AcceptOutcome::kPending:
        ch.pending.push_back(std::move(copy));
        break;
      case AcceptOutcome::kStored:
        for (const EntryId& s : r->conv.TakeNewlyStored()) {
          const VerifiedEntry* e = r->conv.Find(s);
          if (e->body.kind() != proto::ENTRY_TEXT)
            ch.membership = true;
          if (e->body.author() == self())
            r->own.emplace(s, MessageState::kSent);
          ch.stored.push_back(*e);
        }
        break;
    }
    // `peer` passes on what it holds, and it holds every earlier entry of
    // that author (it stores in seq order).
    Vector& theirs = r->held_by[peer];
    if (theirs[author] < seq) {
      theirs[author] = seq;
      ch.vectors.insert(peer);
    }
    if (l == nullptr) {
      ack(id);
      continue;
    }
    // Nothing of a group being learnt is durable yet, so nothing is acked.
    l->unacked.push_back(id);
    if (*outcome != AcceptOutcome::kDuplicate)
      l->bytes += size;
    for (VerifiedEntry& e : scratch.pending)
      l->pending.push_back(std::move(e));
    for (VerifiedEntry& e : scratch.stored)
      l->stored.push_back(std::move(e));
    if (l->bytes > kMaxLearningBytes) {
      refuse(Status::ResourceExhausted("a group passed on by " + peer + " that does not count us " +
                                       "as a member within " + std::to_string(kMaxLearningBytes) +
                                       " bytes"));
      learning.erase(cid);
    }
  }
  // A group being learnt is ours once the fold counts us and `peer` as
  // members (a person added later: the add entry came); until then nothing
  // of it is written, and it waits for the rest of the round.
  for (auto it = learning.begin(); it != learning.end();) {
    Learning& l = it->second;
    const Membership m = l.replica->conv.CurrentMembership();
    if (!m.members.count(self()) || !m.members.count(peer)) {
      ++it;
      continue;
    }
    const Bytes cid = it->first;
    Result<Replica*> held = Load(cid);
    if (held.ok()) {
      // Learnt meanwhile from another member: `peer` passes it on again.
      it = learning.erase(it);
      continue;
    }
    if (held.status().code() != Status::Code::kNotFound)
      return held.status();
    if (conversations >= kMaxConversations) {
      refuse(Status::ResourceExhausted("this node holds " + std::to_string(kMaxConversations) +
                                       " conversations"));
      it = learning.erase(it);
      continue;
    }
    CONFAB_ASSIGN_OR_RETURN(std::string name, LearntName(l.name, cid));
    Replica* r = l.replica.get();
    r->info.name = std::move(name);
    Change& ch = changes[cid];
    ch.replica = r;
    ch.created = true;
    ch.membership = true;
    ch.vectors.insert(peer);
    ch.stored = std::move(l.stored);
    for (VerifiedEntry& e : l.pending) {
      if (r->conv.Find(e.id) == nullptr)  // not released meanwhile
        ch.pending.push_back(std::move(e));
    }
    for (const EntryId& id : l.unacked)
      ack(id);
    cache_.emplace(cid, std::move(l.replica));
    ++conversations;
    it = learning.erase(it);
  }
  if (learning.empty())
    learning_.erase(peer);
  for (auto it = changes.begin(); it != changes.end();) {
    const Change& c = it->second;
    if (!c.created && c.stored.empty() && c.pending.empty() && c.vectors.empty())
      it = changes.erase(it);
    else
      ++it;
  }
  if (!changes.empty())
    CONFAB_RETURN_IF_ERROR(Persist(changes, now_ms, MessageState::kSent));
  return out;
}

Status Replicas::OnAcked(const std::string& peer, const proto::EntryAck& ack, int64_t now_ms) {
  // (conversation, author) -> the seqs `peer` now holds durably.
  std::map<Bytes, std::map<std::string, std::set<uint64_t>>> acked;
  for (const std::string& raw : ack.ids()) {
    if (raw.size() != kEntryIdBytes)
      continue;
    EntryId id{};
    std::copy(raw.begin(), raw.end(), id.begin());
    for (auto& [cid, r] : cache_) {
      const VerifiedEntry* e = r->conv.Find(id);
      if (e != nullptr && r->conv.CurrentMembership().members.count(peer)) {
        acked[cid][e->body.author()].insert(e->body.seq());
        break;
      }
    }
  }
  std::map<Bytes, Change> changes;
  for (auto& [cid, authors] : acked) {
    Replica* r = cache_.at(cid).get();
    Vector& theirs = r->held_by[peer];
    bool moved = false;
    for (auto& [author, seqs] : authors) {
      // Contiguous only: an ack of an entry they hold for a gap does not
      // say they hold the gap.
      uint64_t& have = theirs[author];
      while (seqs.count(have + 1)) {
        ++have;
        moved = true;
      }
    }
    if (moved) {
      changes[cid].replica = r;
      changes[cid].vectors.insert(peer);
    }
  }
  if (changes.empty())
    return Status::Ok();
  return Persist(changes, now_ms, MessageState::kSent);
}

}  // namespace confab::peer::chat
