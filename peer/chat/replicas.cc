// Replicas: loading, writing and reading. The ReplicaView half (what the
// reconcile session asks) is in replicas_sync.cc.
#include "peer/chat/replicas.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/base/member_name.h"
#include "common/base/similar_names.h"

namespace confab::peer::chat {
namespace {

Status CheckGroupName(std::string_view name) {
  const bool ok_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
  if (name.empty() || name.size() > kMaxGroupNameBytes || !ok_chars) {
    return Status::InvalidArgument("a group name is 1 to " + std::to_string(kMaxGroupNameBytes) +
                                   " letters, digits, '-', '_' or '.'");
  }
  return Status::Ok();
}

Status CheckPersonName(std::string_view name) {
  return ValidateMemberName(name);
}

std::string Tag(const ConversationInfo& info) {
  return info.label();
}

// What a purged row still says: its place, for the vector and the order.
VerifiedEntry PurgedPlace(const ConversationInfo& info, const StoredEntry& s) {
  VerifiedEntry e;
  e.body.set_conversation(std::string(AsChars(info.id)));
  e.body.set_author(s.author);
  e.body.set_seq(s.seq);
  e.body.set_lamport(s.lamport);
  e.body.set_kind(s.kind);
  std::copy(s.id.begin(), s.id.end(), e.id.begin());
  e.purged = true;
  return e;
}

}  // namespace

Replicas::Replicas(ConversationStore* store, const crypto::SigningKey* key, KeyLookup keys)
    : store_(store), key_(key), keys_(std::move(keys)) {}

KeyLookup Replicas::Lookup() const {
  return [this](const std::string& name) -> std::optional<crypto::Ed25519PublicKey> {
    if (name == self())
      return key_->public_key();
    return keys_ ? keys_(name) : std::nullopt;
  };
}

// ---- loading -----------------------------------------------------------

Result<Replicas::Replica*> Replicas::Load(ByteView id) {
  const Bytes key(id.begin(), id.end());
  if (auto it = cache_.find(key); it != cache_.end())
    return it->second.get();
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> all, store_->Conversations());
  auto info = std::find_if(all.begin(), all.end(), [&](const ConversationInfo& c) {
    return std::equal(c.id.begin(), c.id.end(), id.begin(), id.end());
  });
  if (info == all.end())
    return Status::NotFound("no such conversation");
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<Replica> r, Read(*info));
  Replica* out = r.get();
  cache_.emplace(key, std::move(r));
  return out;
}

Result<int64_t> Replicas::PurgeOlderThan(int64_t cutoff_ms) {
  CONFAB_ASSIGN_OR_RETURN(int64_t purged, store_->PurgeOlderThan(cutoff_ms));
  if (purged > 0)
    cache_.clear();
  return purged;
}

Result<std::unique_ptr<Replicas::Replica>> Replicas::Read(const ConversationInfo& info) {
  CONFAB_ASSIGN_OR_RETURN(std::vector<StoredEntry> stored, store_->Entries(info.id));
  std::vector<VerifiedEntry> entries;
  std::map<EntryId, MessageState> own;
  for (const StoredEntry& s : stored) {
    if (s.legacy)
      continue;
    if (s.purged) {
      entries.push_back(PurgedPlace(info, s));
      continue;
    }
    proto::Entry wire;
    wire.set_signed_(std::string(AsChars(s.signed_bytes)));
    wire.set_signature(std::string(AsChars(s.signature)));
    Result<VerifiedEntry> v = VerifyEntry(wire);
    if (!v.ok())
      return v.status().WithContext("a stored entry of " + Tag(info));
    if (s.author == self())
      own[v->id] = s.state;
    entries.push_back(std::move(*v));
  }
  std::optional<Conversation> conv;
  size_t first = 0;
  if (info.is_group()) {
    if (entries.empty())
      return Status::Corruption("group " + Tag(info) + " has no creation entry");
    Result<Conversation> c = Conversation::FromCreate(std::move(entries[0]));
    if (!c.ok())
      return c.status().WithContext("group " + Tag(info));
    conv.emplace(std::move(*c));
    first = 1;
  } else {
    Result<Conversation> c = Conversation::Direct(self(), info.peer);
    if (!c.ok())
      return c.status();
    conv.emplace(std::move(*c));
  }
  // Stored entries were checked when they arrived; their keys are trusted
  // here (a contact's key may be unknown at start-up). In total order each
  // is after every one before it, so Accept costs one fold step.
  auto accept = [&](VerifiedEntry e) {
    const crypto::Ed25519PublicKey k = e.author_key();
    KeyLookup trust = [k](const std::string&) { return std::optional(k); };
    Result<AcceptOutcome> r = conv->Accept(std::move(e), trust);
    if (!r.ok())
      spdlog::warn("{}: a stored entry is no longer valid: {}", Tag(info), r.status().ToString());
  };
  for (size_t i = first; i < entries.size(); ++i)
    accept(std::move(entries[i]));
  (void)conv->TakeNewlyStored();
  CONFAB_ASSIGN_OR_RETURN(std::vector<VerifiedEntry> pending, store_->Pending(info.id));
  for (VerifiedEntry& e : pending)
    accept(std::move(e));
  std::vector<VerifiedEntry> released;
  for (const EntryId& id : conv->TakeNewlyStored())
    released.push_back(*conv->Find(id));
  if (!released.empty()) {
    // Held for a gap that an entry stored before now fills (a crash between
    // the two): store them.
    CONFAB_RETURN_IF_ERROR(
        store_->StoreEntries(info.id, released, 0, MessageState::kSent).status());
  }
  CONFAB_ASSIGN_OR_RETURN(auto held_by, store_->Vectors(info.id));
  return std::unique_ptr<Replica>(
      new Replica{info, std::move(*conv), std::move(held_by), std::move(own)});
}

// ---- conversations -------------------------------------------------------

Result<Bytes> Replicas::EnsureDirect(std::string_view peer) {
  CONFAB_RETURN_IF_ERROR(CheckPersonName(peer));
  return store_->EnsureDirect(peer);
}

Result<GroupInfo> Replicas::Group(ByteView id) {
  if (!IsGroupId(id))
    return Status::InvalidArgument("not a group");
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(id));
  return GroupInfo{r->info.id, r->info.name, r->conv.CurrentMembership()};
}

Result<std::vector<GroupInfo>> Replicas::Groups() {
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> all, store_->Conversations());
  std::vector<GroupInfo> out;
  for (const ConversationInfo& c : all) {
    if (!c.is_group())
      continue;
    CONFAB_ASSIGN_OR_RETURN(GroupInfo g, Group(c.id));
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(),
            [](const GroupInfo& a, const GroupInfo& b) { return a.name < b.name; });
  return out;
}

Result<GroupInfo> Replicas::GroupNamed(std::string_view name) {
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> all, store_->Conversations());
  std::vector<std::string> names;
  for (const ConversationInfo& c : all) {
    if (!c.is_group())
      continue;
    if (c.name == name)
      return Group(c.id);
    names.push_back(c.name);
  }
  std::vector<std::string> close = SimilarNames(name, names);
  for (std::string& n : close)
    n = "#" + n;
  return Status::NotFound("no group named #" + std::string(name) + DidYouMean(close));
}

Result<std::string> Replicas::LearntName(std::string_view name, ByteView id) {
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> all, store_->Conversations());
  std::string base = CheckGroupName(name).ok() ? std::string(name) : "group";
  auto taken = [&](const std::string& n) {
    return std::any_of(all.begin(), all.end(),
                       [&](const ConversationInfo& c) { return c.is_group() && c.name == n; });
  };
  if (!taken(base))
    return base;
  // Another group here has that name: the learnt one is told apart by its
  // id (the name is local; members may name a group alike).
  return base + "~" + ToHex(id.subspan(0, 3));
}

// ---- writing -------------------------------------------------------------

Result<VerifiedEntry> Replicas::Write(Replica& r, proto::EntryBody body, int64_t now_ms) {
  body.set_conversation(std::string(AsChars(r.info.id)));
  body.set_author(self());
  body.set_seq(r.conv.held(self()) + 1);
  body.set_lamport(r.conv.next_lamport());
  body.set_sent_unix_ms(now_ms);
  CONFAB_ASSIGN_OR_RETURN(VerifiedEntry e, SignOwnEntry(*key_, std::move(body)));
  VerifiedEntry copy = e;
  CONFAB_ASSIGN_OR_RETURN(AcceptOutcome outcome, r.conv.Accept(std::move(e), Lookup()));
  if (outcome != AcceptOutcome::kStored)
    return Status::FailedPrecondition("our own entry was not stored");
  (void)r.conv.TakeNewlyStored();
  r.own[copy.id] = MessageState::kQueued;
  return copy;
}

Status Replicas::PersistOwn(Replica& r, std::vector<VerifiedEntry> entries, bool membership,
                            int64_t now_ms) {
  std::map<Bytes, Change> changes;
  Change& c = changes[r.info.id];
  c.replica = &r;
  c.membership = membership;
  c.stored = std::move(entries);
  return Persist(changes, now_ms, MessageState::kQueued);
}

Result<HistoryEntry> Replicas::Compose(ByteView conversation, std::string_view text,
                                       int64_t now_ms) {
  const std::string one[] = {std::string(text)};
  CONFAB_ASSIGN_OR_RETURN(std::vector<HistoryEntry> out, ComposeBatch(conversation, one, now_ms));
  return std::move(out.front());
}

Result<std::vector<HistoryEntry>> Replicas::ComposeBatch(ByteView conversation,
                                                         std::span<const std::string> texts,
                                                         int64_t now_ms) {
  if (texts.empty())
    return Status::InvalidArgument("no text to send");
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(conversation));
  if (!r->conv.CurrentMembership().members.count(self()))
    return Status::FailedPrecondition("you are not a member of " + Tag(r->info));
  std::vector<VerifiedEntry> written;
  std::vector<HistoryEntry> out;
  for (const std::string& text : texts) {
    proto::EntryBody body;
    body.set_kind(proto::ENTRY_TEXT);
    body.set_text(text);
    Result<VerifiedEntry> e = Write(*r, std::move(body), now_ms);
    if (!e.ok()) {
      cache_.erase(r->info.id);
      return e.status();
    }
    HistoryEntry h;
    h.entry.conversation = r->info.id;
    h.entry.id = Bytes(e->id.begin(), e->id.end());
    h.entry.author = self();
    h.entry.direction = Direction::kOut;
    h.entry.seq = e->body.seq();
    h.entry.lamport = e->body.lamport();
    h.entry.kind = proto::ENTRY_TEXT;
    h.entry.sent_ms = now_ms;
    h.entry.received_ms = now_ms;
    h.entry.state = MessageState::kQueued;
    h.entry.state_ms = now_ms;
    h.entry.signed_bytes = e->signed_bytes;
    h.entry.signature = e->signature;
    h.entry.text = text;
    out.push_back(std::move(h));
    written.push_back(std::move(*e));
  }
  CONFAB_RETURN_IF_ERROR(PersistOwn(*r, std::move(written), false, now_ms));
  return out;
}

Result<Bytes> Replicas::CreateGroup(std::string_view name, const std::vector<std::string>& members,
                                    int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(CheckGroupName(name));
  std::set<std::string> all{self()};
  for (const std::string& m : members) {
    CONFAB_RETURN_IF_ERROR(CheckPersonName(m));
    all.insert(m);
  }
  if (all.size() < 2 || all.size() > kMaxGroupMembers) {
    return Status::InvalidArgument("a group has 2 to " + std::to_string(kMaxGroupMembers) +
                                   " members, you included; #" + std::string(name) +
                                   " would have " + std::to_string(all.size()));
  }
  if (GroupNamed(name).ok())
    return Status::FailedPrecondition("there is already a group named #" + std::string(name));
  const Bytes id = NewGroupId();
  proto::EntryBody body;
  body.set_conversation(std::string(AsChars(id)));
  body.set_author(self());
  body.set_seq(1);
  body.set_lamport(1);
  body.set_sent_unix_ms(now_ms);
  body.set_kind(proto::ENTRY_GROUP_CREATE);
  body.mutable_create()->set_name(std::string(name));
  for (const std::string& m : all)
    body.mutable_create()->add_members(m);
  body.mutable_create()->add_admins(self());
  CONFAB_ASSIGN_OR_RETURN(VerifiedEntry e, SignOwnEntry(*key_, std::move(body)));
  VerifiedEntry copy = e;
  CONFAB_ASSIGN_OR_RETURN(Conversation conv, Conversation::FromCreate(std::move(e)));
  (void)conv.TakeNewlyStored();
  ConversationInfo info;
  info.id = id;
  info.name = std::string(name);
  auto r = std::unique_ptr<Replica>(new Replica{info, std::move(conv), {}, {}});
  r->own[copy.id] = MessageState::kQueued;
  Replica* raw = r.get();
  cache_.emplace(id, std::move(r));
  std::map<Bytes, Change> changes;
  Change& c = changes[id];
  c.replica = raw;
  c.created = true;
  c.membership = true;
  c.stored.push_back(std::move(copy));
  CONFAB_RETURN_IF_ERROR(Persist(changes, now_ms, MessageState::kQueued));
  return id;
}

Result<Replicas::Replica*> Replicas::Admin(ByteView group, std::string_view what) {
  if (!IsGroupId(group))
    return Status::InvalidArgument("only a group has members to " + std::string(what));
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(group));
  const Membership m = r->conv.CurrentMembership();
  if (!m.members.count(self()))
    return Status::FailedPrecondition("you are not a member of " + Tag(r->info));
  if (!m.admins.count(self())) {
    return Status::PermissionDenied("only an admin of " + Tag(r->info) + " can " +
                                    std::string(what) + " members; you are not one");
  }
  return r;
}

Status Replicas::AddMembers(ByteView group, const std::vector<std::string>& members,
                            int64_t now_ms) {
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Admin(group, "add"));
  const Membership m = r->conv.CurrentMembership();
  std::set<std::string> fresh;
  for (const std::string& p : members) {
    CONFAB_RETURN_IF_ERROR(CheckPersonName(p));
    if (m.members.count(p))
      return Status::InvalidArgument(p + " is already a member of " + Tag(r->info));
    fresh.insert(p);
  }
  if (fresh.empty())
    return Status::InvalidArgument("name at least one person to add");
  if (m.members.size() + fresh.size() > kMaxGroupMembers) {
    return Status::InvalidArgument(
        Tag(r->info) + " would have " + std::to_string(m.members.size() + fresh.size()) +
        " members; a group has at most " + std::to_string(kMaxGroupMembers));
  }
  proto::EntryBody body;
  body.set_kind(proto::ENTRY_GROUP_ADD);
  for (const std::string& p : fresh)
    body.mutable_add()->add_members(p);
  Result<VerifiedEntry> e = Write(*r, std::move(body), now_ms);
  if (!e.ok()) {
    cache_.erase(r->info.id);
    return e.status();
  }
  return PersistOwn(*r, {std::move(*e)}, true, now_ms);
}

Status Replicas::RemoveMembers(ByteView group, const std::vector<std::string>& members,
                               int64_t now_ms) {
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Admin(group, "remove"));
  const Membership m = r->conv.CurrentMembership();
  std::set<std::string> gone;
  for (const std::string& p : members) {
    if (p == self())
      return Status::InvalidArgument("to leave " + Tag(r->info) + ", use group leave");
    if (!m.members.count(p))
      return Status::InvalidArgument(p + " is not a member of " + Tag(r->info));
    gone.insert(p);
  }
  if (gone.empty())
    return Status::InvalidArgument("name at least one member to remove");
  std::vector<VerifiedEntry> written;
  for (const std::string& p : gone) {
    proto::EntryBody body;
    body.set_kind(proto::ENTRY_GROUP_REMOVE);
    body.mutable_remove()->set_person(p);
    // What we hold of them: anything they write later is refused.
    body.mutable_remove()->set_cut_seq(r->conv.held(p));
    Result<VerifiedEntry> e = Write(*r, std::move(body), now_ms);
    if (!e.ok()) {
      cache_.erase(r->info.id);
      return e.status();
    }
    written.push_back(std::move(*e));
  }
  return PersistOwn(*r, std::move(written), true, now_ms);
}

Status Replicas::Promote(ByteView group, const std::vector<std::string>& members, int64_t now_ms) {
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Admin(group, "promote"));
  const Membership m = r->conv.CurrentMembership();
  std::set<std::string> fresh;
  for (const std::string& p : members) {
    if (!m.members.count(p))
      return Status::InvalidArgument(p + " is not a member of " + Tag(r->info));
    if (m.admins.count(p))
      return Status::InvalidArgument(p + " is already an admin of " + Tag(r->info));
    fresh.insert(p);
  }
  if (fresh.empty())
    return Status::InvalidArgument("name at least one member to promote");
  std::vector<VerifiedEntry> written;
  for (const std::string& p : fresh) {
    proto::EntryBody body;
    body.set_kind(proto::ENTRY_GROUP_PROMOTE);
    body.mutable_promote()->set_person(p);
    Result<VerifiedEntry> e = Write(*r, std::move(body), now_ms);
    if (!e.ok()) {
      cache_.erase(r->info.id);
      return e.status();
    }
    written.push_back(std::move(*e));
  }
  return PersistOwn(*r, std::move(written), true, now_ms);
}

Status Replicas::Leave(ByteView group, int64_t now_ms) {
  if (!IsGroupId(group))
    return Status::InvalidArgument("only a group can be left");
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(group));
  if (!r->conv.CurrentMembership().members.count(self()))
    return Status::FailedPrecondition("you are not a member of " + Tag(r->info));
  proto::EntryBody body;
  body.set_kind(proto::ENTRY_GROUP_LEAVE);
  body.mutable_leave();
  Result<VerifiedEntry> e = Write(*r, std::move(body), now_ms);
  if (!e.ok()) {
    cache_.erase(r->info.id);
    return e.status();
  }
  return PersistOwn(*r, {std::move(*e)}, true, now_ms);
}

// ---- reading -------------------------------------------------------------

std::vector<std::string> Replicas::Holders(const Replica& r, const std::string& author,
                                           uint64_t seq) const {
  std::vector<std::string> out;
  for (const auto& [peer, v] : r.held_by) {
    if (peer == self() || peer == author)
      continue;
    auto it = v.find(author);
    if (it != v.end() && it->second >= seq)
      out.push_back(peer);
  }
  return out;  // sorted: held_by is a map
}

MessageState Replicas::StateFor(const Replica& r, uint64_t seq) const {
  const std::vector<std::string> holders = Holders(r, self(), seq);
  if (holders.empty())
    return MessageState::kQueued;
  std::set<std::string> others = r.conv.CurrentMembership().members;
  others.erase(self());
  const bool all = !others.empty() && std::all_of(others.begin(), others.end(), [&](auto& m) {
    return std::binary_search(holders.begin(), holders.end(), m);
  });
  return all ? MessageState::kDelivered : MessageState::kSent;
}

Result<std::vector<HistoryEntry>> Replicas::History(ByteView conversation) {
  CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(conversation));
  CONFAB_ASSIGN_OR_RETURN(std::vector<StoredEntry> stored, store_->Entries(conversation));
  std::set<EntryId> shown;
  for (const VerifiedEntry* e : r->conv.Ordered())
    shown.insert(e->id);
  std::vector<HistoryEntry> legacy, signed_entries;
  for (StoredEntry& s : stored) {
    HistoryEntry h;
    if (s.legacy) {
      if (s.direction == Direction::kOut && s.state == MessageState::kDelivered)
        h.delivered_to.push_back(r->info.peer);
      h.entry = std::move(s);
      legacy.push_back(std::move(h));
      continue;
    }
    EntryId id{};
    if (s.id.size() != id.size())
      continue;
    std::copy(s.id.begin(), s.id.end(), id.begin());
    if (s.purged || !shown.count(id))
      continue;
    h.delivered_to = Holders(*r, s.author, s.seq);
    h.entry = std::move(s);
    signed_entries.push_back(std::move(h));
  }
  for (HistoryEntry& h : signed_entries)
    legacy.push_back(std::move(h));
  return legacy;
}

Result<std::vector<HistoryEntry>> Replicas::Outbox() {
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> all, store_->Conversations());
  std::vector<HistoryEntry> out;
  for (const ConversationInfo& c : all) {
    CONFAB_ASSIGN_OR_RETURN(std::vector<HistoryEntry> h, History(c.id));
    for (HistoryEntry& e : h) {
      if (e.entry.direction == Direction::kOut &&
          (e.entry.state == MessageState::kQueued || e.entry.state == MessageState::kSent))
        out.push_back(std::move(e));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const HistoryEntry& a, const HistoryEntry& b) {
    return a.entry.received_ms < b.entry.received_ms;
  });
  return out;
}

Result<std::set<std::string>> Replicas::MembersLacking() {
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> all, store_->Conversations());
  std::set<std::string> out;
  for (const ConversationInfo& c : all) {
    CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(c.id));
    for (const std::string& m : r->conv.CurrentMembership().members) {
      if (m == self() || out.count(m))
        continue;
      auto it = r->held_by.find(m);
      const Vector theirs = it == r->held_by.end() ? Vector{} : it->second;
      if (!r->conv.MissingFor(m, theirs, 1).empty())
        out.insert(m);
    }
  }
  return out;
}

Result<std::set<std::string>> Replicas::People() {
  CONFAB_ASSIGN_OR_RETURN(std::vector<ConversationInfo> all, store_->Conversations());
  std::set<std::string> out;
  for (const ConversationInfo& c : all) {
    CONFAB_ASSIGN_OR_RETURN(Replica * r, Load(c.id));
    for (const std::string& m : r->conv.CurrentMembership().members) {
      if (m != self())
        out.insert(m);
    }
  }
  return out;
}

}  // namespace confab::peer::chat
