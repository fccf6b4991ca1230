// Replicas: the node's replicated conversations (docs/design.md,
// "Conversations"), over ConversationStore. It holds one Conversation per
// conversation in memory, loaded from the store the first time it is asked
// for and kept, and answers both the node (compose, groups, history, the
// outbox, whom to reach) and the reconcile session (ReplicaView).
//
// Every writing call is durable before it returns: its entries, the
// membership they lead to, vectors and states commit in one transaction of
// ConversationStore. If that commit fails the conversation is dropped from
// memory (its Conversation may hold what the store does not) and is loaded
// again at its next use, so memory never runs ahead of the disk.
//
// States of our own entries (issue 12, item 7) follow from what each member
// holds, by the vectors it told us (OnPeerVector), the acks it sent
// (OnAcked) and the entries it passed on (Receive):
//   queued     no other member's node holds it;
//   sent       at least one does;
//   delivered  direct: the peer's node holds it; group: every other current
//              member's node holds it.
// delivered_to names the members whose nodes hold it. States only move
// forward.
//
// Loop thread only; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto/identity.h"
#include "peer/chat/conversation_store.h"
#include "peer/chat/replica_view.h"

namespace confab::peer::chat {

// A group's name: 1 to kMaxGroupNameBytes of letters, digits, '-', '_', '.'.
inline constexpr size_t kMaxGroupNameBytes = 64;

// Groups being learnt from one peer (not yet counting us as a member), and
// the bytes of their entries held in memory meanwhile.
inline constexpr size_t kMaxLearningGroups = 16;
inline constexpr size_t kMaxLearningBytes = 16 * 1024 * 1024;

// One entry as history shows it.
struct HistoryEntry {
  StoredEntry entry;
  std::vector<std::string> delivered_to;  // sorted
};

struct GroupInfo {
  Bytes id;
  std::string name;  // unique on this node
  Membership membership;
};

class Replicas final : public ReplicaView {
 public:
  // Told after each commit, so it reports only what is durable. It must not
  // call back into Replicas (the node only publishes and follows).
  class Observer {
   public:
    virtual ~Observer() = default;
    // Entries written by others, stored here for the first time (texts and
    // membership changes), in the order stored; `conversation` as it is now.
    virtual void OnEntriesStored(const ConversationInfo& /*conversation*/,
                                 const std::vector<HistoryEntry>& /*fresh*/) {}
    // Our entries whose state moved forward (to sent or delivered).
    virtual void OnStatesMoved(const ConversationInfo& /*conversation*/,
                               const std::vector<HistoryEntry>& /*moved*/) {}
  };
  void set_observer(Observer* observer) { observer_ = observer; }

  // Borrows `store` and `key` (our identity key, which signs our entries).
  // `keys` is the identity key each other person is known by (pinned
  // contact or checked certificate); ours is answered from `key`.
  Replicas(ConversationStore* store, const crypto::SigningKey* key, KeyLookup keys);

  const std::string& self() const { return store_->self(); }

  // ---- conversations -------------------------------------------------
  // The direct conversation with `peer`, created if missing.
  [[nodiscard]] Result<Bytes> EnsureDirect(std::string_view peer);
  // Every group we hold (members as the fold says now), by name.
  [[nodiscard]] Result<std::vector<GroupInfo>> Groups();
  // NotFound "no group named #NAME" (with close names when there are).
  [[nodiscard]] Result<GroupInfo> GroupNamed(std::string_view name);
  [[nodiscard]] Result<GroupInfo> Group(ByteView id);

  // ---- writing: each durable before it returns -------------------------
  // A text entry by us, queued. FailedPrecondition if we are no longer a
  // member; InvalidArgument for a text too long for one entry.
  [[nodiscard]] Result<HistoryEntry> Compose(ByteView conversation, std::string_view text,
                                             int64_t now_ms);
  // Compose for each of `texts`, in order, in ONE commit: all or none.
  [[nodiscard]] Result<std::vector<HistoryEntry>> ComposeBatch(ByteView conversation,
                                                               std::span<const std::string> texts,
                                                               int64_t now_ms);
  // A new group with us as its admin and `members` (we are added if
  // missing). InvalidArgument for a bad name or member name, fewer than 2
  // or more than kMaxGroupMembers members; FailedPrecondition for a name taken
  // on this node. Nothing is stored on any error.
  [[nodiscard]] Result<Bytes> CreateGroup(std::string_view name,
                                          const std::vector<std::string>& members, int64_t now_ms);
  // Membership entries signed by us. PermissionDenied unless we are an
  // admin; InvalidArgument for a person already in (add) or not in
  // (remove), too many members, or removing ourselves (use Leave). One
  // remove entry per person, cut at the seq we hold of them.
  [[nodiscard]] Status AddMembers(ByteView group, const std::vector<std::string>& members,
                                  int64_t now_ms);
  [[nodiscard]] Status RemoveMembers(ByteView group, const std::vector<std::string>& members,
                                     int64_t now_ms);
  [[nodiscard]] Status Leave(ByteView group, int64_t now_ms);
  // Makes members admins, one promote entry per person. PermissionDenied
  // unless we are an admin; InvalidArgument for a person not a member or
  // already an admin.
  [[nodiscard]] Status Promote(ByteView group, const std::vector<std::string>& members,
                               int64_t now_ms);

  // ---- reading -------------------------------------------------------
  // Every entry shown, in order: migrated (legacy) entries first in the
  // order written, then signed entries valid under the membership fold in
  // total order (lamport, author, seq). Membership entries are included
  // (entry.kind says which).
  [[nodiscard]] Result<std::vector<HistoryEntry>> History(ByteView conversation);
  // Our own entries not yet delivered, every conversation, oldest first.
  [[nodiscard]] Result<std::vector<HistoryEntry>> Outbox();
  // The members that lack entries we hold and may be sent, by the last
  // vector each told us: whom the node should reach (issue 12, item 5).
  [[nodiscard]] Result<std::set<std::string>> MembersLacking();
  // Every conversation we hold (ConversationStore's order).
  [[nodiscard]] Result<std::vector<ConversationInfo>> Conversations() {
    return store_->Conversations();
  }
  // The conversation's id, kind and name. NotFound if we do not hold it.
  [[nodiscard]] Result<ConversationInfo> Info(ByteView conversation);
  // Deletes our queued entry whose hex id starts with `id_prefix` (4 to 64
  // hex digits) and returns it: `confab outbox drop`. Our later entries of
  // that conversation, queued too, are signed again one seq lower in the
  // same commit, so no seq is missing. FailedPrecondition once sent (a
  // member's node may hold it), NotFound for no match, InvalidArgument for
  // a malformed or ambiguous prefix.
  [[nodiscard]] Result<HistoryEntry> DropQueued(std::string_view id_prefix, int64_t now_ms);
  // Writes every queued message migrated from the old chat protocol
  // (legacy entries, which reconcile never passes on) again as our signed
  // entries, deleting the legacy ones in the same commit. Returns how many.
  // Messages the old protocol already sent stay as they are.
  [[nodiscard]] Result<size_t> AdoptLegacyOutbox(int64_t now_ms);
  // history.retain_days: ConversationStore::PurgeOlderThan, then every
  // conversation is read again, so a purged body is neither shown nor
  // passed on from memory. Returns how many entries lost their body.
  [[nodiscard]] Result<int64_t> PurgeOlderThan(int64_t cutoff_ms);
  // Every other person of every conversation we hold: whom to follow.
  [[nodiscard]] Result<std::set<std::string>> People();

  // ---- ReplicaView ---------------------------------------------------
  [[nodiscard]] Result<DigestMap> SharedWith(const std::string& peer) override;
  [[nodiscard]] Result<Vector> VectorOf(const std::string& peer, ByteView conversation) override;
  [[nodiscard]] Status OnPeerVector(const std::string& peer, ByteView conversation,
                                    const Vector& theirs) override;
  [[nodiscard]] Result<std::vector<proto::Entry>> MissingFor(const std::string& peer,
                                                             ByteView conversation,
                                                             const Vector& theirs,
                                                             size_t limit) override;
  [[nodiscard]] Result<ReceivedBatch> Receive(const std::string& peer,
                                              const proto::EntryBatch& batch,
                                              int64_t now_ms) override;
  [[nodiscard]] Status OnAcked(const std::string& peer, const proto::EntryAck& ack,
                               int64_t now_ms) override;

  // Forgets every loaded conversation (the next use loads it again).
  void Forget() { cache_.clear(); }
  size_t loaded() const { return cache_.size(); }

 private:
  struct Replica {
    ConversationInfo info;
    Conversation conv;
    // peer -> what its node holds (last vector heard, acks, entries it
    // passed on).
    std::map<std::string, Vector> held_by;
    // Our own signed entries and their states.
    std::map<EntryId, MessageState> own;
  };
  // What one batch changes in one conversation, persisted together.
  struct Change {
    Replica* replica = nullptr;
    bool created = false;
    bool membership = false;
    std::set<std::string> vectors;  // peers whose held_by changed
    std::vector<VerifiedEntry> stored;
    std::vector<VerifiedEntry> pending;
    std::vector<std::pair<Bytes, MessageState>> moved;  // our states, by RefreshStates
  };

  // A group we do not hold, as one peer passes it on: its creation entry
  // and what followed, in memory only. It is learnt (persisted) once the
  // fold counts us and that peer as members, so a person added after the
  // creation learns the group from the add entry, which may come batches
  // after the creation entry; it is dropped when a new round with that
  // peer begins (SharedWith) or it outgrows kMaxLearningBytes.
  struct Learning {
    std::unique_ptr<Replica> replica;
    std::string name;  // as the creation entry names it
    std::vector<VerifiedEntry> stored;
    std::vector<VerifiedEntry> pending;
    std::vector<EntryId> unacked;  // acknowledged once learnt
    size_t bytes = 0;
  };

  KeyLookup Lookup() const;
  [[nodiscard]] Result<Replica*> Load(ByteView id);
  [[nodiscard]] Result<std::unique_ptr<Replica>> Read(const ConversationInfo& info);
  // Signs `body` as our next entry of `r` and accepts it.
  [[nodiscard]] Result<VerifiedEntry> Write(Replica& r, proto::EntryBody body, int64_t now_ms);
  // Persists `changes` in one commit; on failure forgets those
  // conversations.
  [[nodiscard]] Status Persist(std::map<Bytes, Change>& changes, int64_t now_ms,
                               MessageState own_state);
  // Moves our entries' states forward from held_by (inside a batch),
  // noting what moved in `moved`.
  [[nodiscard]] Status RefreshStates(Replica& r, int64_t now_ms,
                                     std::vector<std::pair<Bytes, MessageState>>& moved);
  // In one commit: deletes our queued entries `remove` of `info` and signs
  // `write` as our next entries, then replaces the conversation in memory
  // by what the store now holds (replicas_rewrite.cc).
  [[nodiscard]] Status RewriteOwn(const ConversationInfo& info, const std::vector<Bytes>& remove,
                                  const std::vector<proto::EntryBody>& write, int64_t now_ms);
  // Tells the observer what `changes`, now committed, stored and moved.
  void Notify(const std::map<Bytes, Change>& changes, int64_t now_ms) const;
  std::vector<std::string> Holders(const Replica& r, const std::string& author, uint64_t seq) const;
  MessageState StateFor(const Replica& r, uint64_t seq) const;
  [[nodiscard]] Result<std::string> LearntName(std::string_view name, ByteView id);
  [[nodiscard]] Result<Replica*> Admin(ByteView group, std::string_view what);
  [[nodiscard]] Status PersistOwn(Replica& r, std::vector<VerifiedEntry> entries, bool membership,
                                  int64_t now_ms);

  ConversationStore* store_;
  Observer* observer_ = nullptr;
  const crypto::SigningKey* key_;
  KeyLookup keys_;
  std::map<Bytes, std::unique_ptr<Replica>> cache_;
  // peer -> group id -> the group `peer` is passing on (Learning).
  std::map<std::string, std::map<Bytes, Learning>> learning_;
};

}  // namespace confab::peer::chat
