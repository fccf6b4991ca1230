#include "peer/chat/conversation.h"

#include <algorithm>
#include <tuple>

namespace confab::peer::chat {
namespace {

bool IsMembershipKind(proto::EntryKind k) {
  return k == proto::ENTRY_GROUP_CREATE || k == proto::ENTRY_GROUP_ADD ||
         k == proto::ENTRY_GROUP_REMOVE || k == proto::ENTRY_GROUP_LEAVE ||
         k == proto::ENTRY_GROUP_PROMOTE;
}

bool Before(const VerifiedEntry* x, const VerifiedEntry* y) {
  return std::make_tuple(x->body.lamport(), x->body.author(), x->body.seq()) <
         std::make_tuple(y->body.lamport(), y->body.author(), y->body.seq());
}

OrderKey KeyOf(const VerifiedEntry& e) {
  return {e.body.lamport(), e.body.author(), e.body.seq()};
}

struct Cut {
  std::string person;
  uint64_t cut;
  size_t position;
};

// The fold of docs/design.md, "Membership". `may_see` gets, for each
// position, whether `peer` may be sent that entry: not after its removal or
// leave unless added again (a member added later gets the earlier history).
struct FoldResult {
  Membership state;
  std::vector<bool> valid;
  std::vector<bool> may_see;
};

// One step of the fold: applies `b` (at position `i`, `first` when it is
// the first entry of the order) to `s` and says whether it is valid at that
// point (before the cuts of later removals, applied by FoldOver). A removal
// or leave appends its cut to `cuts`.
bool Apply(Membership& s, const proto::EntryBody& b, bool first, size_t i, std::vector<Cut>* cuts) {
  const std::string& author = b.author();
  bool valid = false;
  switch (b.kind()) {
    case proto::ENTRY_GROUP_CREATE:
      if (first) {
        for (const auto& m : b.create().members()) {
          if (s.members.size() < kMaxGroupMembers)
            s.members.insert(m);
        }
        for (const auto& a : b.create().admins()) {
          if (s.members.count(a))
            s.admins.insert(a);
        }
        valid = true;
      }
      break;
    case proto::ENTRY_GROUP_ADD:
      if (s.admins.count(author)) {
        for (const auto& m : b.add().members()) {
          if (s.members.size() < kMaxGroupMembers)
            s.members.insert(m);
        }
        valid = true;
      }
      break;
    case proto::ENTRY_GROUP_REMOVE:
      if (s.admins.count(author) && s.members.count(b.remove().person())) {
        s.members.erase(b.remove().person());
        s.admins.erase(b.remove().person());
        if (cuts != nullptr)
          cuts->push_back({b.remove().person(), b.remove().cut_seq(), i});
        valid = true;
      }
      break;
    case proto::ENTRY_GROUP_LEAVE:
      if (s.members.count(author)) {
        s.members.erase(author);
        s.admins.erase(author);
        if (cuts != nullptr)
          cuts->push_back({author, b.seq() - 1, i});
        valid = true;
      }
      break;
    case proto::ENTRY_GROUP_PROMOTE:
      if (s.admins.count(author) && s.members.count(b.promote().person())) {
        s.admins.insert(b.promote().person());
        valid = true;
      }
      break;
    case proto::ENTRY_TEXT:
      valid = s.members.count(author) > 0;
      break;
    default:
      break;
  }
  // The last admin gone: the remaining member with the smallest name.
  if (s.admins.empty() && !s.members.empty())
    s.admins.insert(*s.members.begin());
  return valid;
}

FoldResult FoldOver(const std::vector<const VerifiedEntry*>& order,
                    const std::set<std::string>& direct_pair, const std::string* peer) {
  FoldResult r;
  r.valid.assign(order.size(), false);
  r.may_see.assign(order.size(), false);
  if (!direct_pair.empty()) {
    r.state.members = direct_pair;
    for (size_t i = 0; i < order.size(); ++i) {
      r.valid[i] = direct_pair.count(order[i]->body.author()) > 0;
      r.may_see[i] = peer != nullptr && direct_pair.count(*peer) > 0;
    }
    return r;
  }
  std::vector<Cut> cuts;
  Membership& s = r.state;
  bool peer_out = false;
  for (size_t i = 0; i < order.size(); ++i) {
    const proto::EntryBody& b = order[i]->body;
    r.may_see[i] = peer != nullptr && !peer_out;
    r.valid[i] = Apply(s, b, i == 0, i, &cuts);
    if (peer == nullptr || !r.valid[i])
      continue;
    if (b.kind() == proto::ENTRY_GROUP_ADD) {
      for (const auto& m : b.add().members()) {
        if (m == *peer && s.members.count(m))
          peer_out = false;
      }
    } else if ((b.kind() == proto::ENTRY_GROUP_REMOVE && b.remove().person() == *peer) ||
               (b.kind() == proto::ENTRY_GROUP_LEAVE && b.author() == *peer)) {
      peer_out = true;
    }
  }
  for (const Cut& c : cuts) {
    for (size_t i = 0; i < c.position; ++i) {
      const proto::EntryBody& b = order[i]->body;
      if (b.kind() == proto::ENTRY_TEXT && b.author() == c.person && b.seq() > c.cut) {
        r.valid[i] = false;
      }
    }
  }
  return r;
}

}  // namespace

Result<Conversation> Conversation::Direct(std::string_view a, std::string_view b) {
  auto id = DirectConversationId(a, b);
  if (!id.ok())
    return id.status();
  Conversation c(std::move(*id));
  c.direct_pair_ = {std::string(a), std::string(b)};
  return c;
}

Result<Conversation> Conversation::FromCreate(VerifiedEntry create) {
  const proto::EntryBody& b = create.body;
  if (b.kind() != proto::ENTRY_GROUP_CREATE || !IsGroupId(AsBytes(b.conversation()))) {
    return Status::InvalidArgument("an unknown group is learnt only from its creation entry");
  }
  if (b.seq() != 1 || b.lamport() != 1) {
    return Status::InvalidArgument("a creation entry has seq 1 and lamport 1");
  }
  std::set<std::string> members(b.create().members().begin(), b.create().members().end());
  std::set<std::string> admins(b.create().admins().begin(), b.create().admins().end());
  if (!members.count(b.author()) || !admins.count(b.author())) {
    return Status::InvalidArgument("the group's creator must be a member and admin");
  }
  if (members.size() < 2 || members.size() > kMaxGroupMembers) {
    return Status::InvalidArgument("a group has 2 to " + std::to_string(kMaxGroupMembers) +
                                   " members");
  }
  Conversation c(ToBytes(AsBytes(b.conversation())));
  c.Store(std::move(create));
  return c;
}

std::vector<const VerifiedEntry*> Conversation::TotalOrder() const {
  std::vector<const VerifiedEntry*> order;
  order.reserve(entries_.size());
  for (const auto& [key, e] : entries_)
    order.push_back(&e);
  std::sort(order.begin(), order.end(), Before);
  return order;
}

Status Conversation::CheckAtPosition(const VerifiedEntry& e) {
  // The common case, an entry after every held one: no removal follows it,
  // so its validity is one step of the fold from the state after the last
  // entry (kept in tail_), not a fold over everything held.
  if (last_ && *last_ < KeyOf(e)) {
    if (!tail_) {
      tail_ = FoldOver(TotalOrder(), direct_pair_, nullptr).state;
    }
    Membership next = *tail_;
    const bool valid = direct_pair_.empty() ? Apply(next, e.body, false, 0, nullptr)
                                            : direct_pair_.count(e.body.author()) > 0;
    if (!valid) {
      return Status::InvalidArgument(
          IsMembershipKind(e.body.kind())
              ? "membership change by " + e.body.author() + ", who is not an admin at that point"
              : "entry by " + e.body.author() + ", who is not a member at that point");
    }
    return Status::Ok();
  }
  std::vector<const VerifiedEntry*> order = TotalOrder();
  order.insert(std::upper_bound(order.begin(), order.end(), &e, Before), &e);
  FoldResult f = FoldOver(order, direct_pair_, nullptr);
  size_t pos = static_cast<size_t>(std::find(order.begin(), order.end(), &e) - order.begin());
  if (!f.valid[pos]) {
    return Status::InvalidArgument(
        IsMembershipKind(e.body.kind())
            ? "membership change by " + e.body.author() + ", who is not an admin at that point"
            : "entry by " + e.body.author() + ", who is not a member at that point");
  }
  return Status::Ok();
}

void Conversation::Store(VerifiedEntry e) {
  max_lamport_ = std::max(max_lamport_, e.body.lamport());
  newly_stored_.push_back(e.id);
  auto key = std::make_pair(e.body.author(), e.body.seq());
  const bool at_end = !last_ || *last_ < KeyOf(e);
  if (at_end && tail_) {
    if (direct_pair_.empty())
      Apply(*tail_, e.body, false, 0, nullptr);
  } else if (!at_end) {
    // An entry inside the order may change the validity of those after it.
    tail_.reset();
  }
  if (at_end)
    last_ = KeyOf(e);
  by_id_[e.id] = key;
  entries_.emplace(std::move(key), std::move(e));
}

const VerifiedEntry* Conversation::Find(const EntryId& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &entries_.at(it->second);
}

const VerifiedEntry* Conversation::FindBySeq(const std::string& author, uint64_t seq) const {
  auto it = entries_.find({author, seq});
  return it == entries_.end() ? nullptr : &it->second;
}

uint64_t Conversation::held(const std::string& author) const {
  auto it = entries_.lower_bound({author, UINT64_MAX});
  if (it == entries_.begin())
    return 0;
  --it;
  return it->first.first == author ? it->first.second : 0;
}

size_t Conversation::pending_count(const std::string& author) const {
  auto it = pending_.find(author);
  return it == pending_.end() ? 0 : it->second.size();
}

Vector Conversation::vector() const {
  Vector v;
  for (const auto& [key, e] : entries_)
    v[key.first] = std::max(v[key.first], key.second);
  return v;
}

Result<AcceptOutcome> Conversation::Accept(VerifiedEntry e, const KeyLookup& keys) {
  const proto::EntryBody& b = e.body;
  if (AsChars(id_) != b.conversation()) {
    return Status::InvalidArgument("entry belongs to another conversation");
  }
  std::optional<crypto::Ed25519PublicKey> known = keys(b.author());
  if (!known || *known != e.author_key()) {
    return Status::AuthFailed("entry claims author " + b.author() +
                              " but is not signed by that person's key");
  }
  uint64_t have = held(b.author());
  if (b.seq() <= have) {
    const VerifiedEntry& mine = entries_.at({b.author(), b.seq()});
    if (mine.id == e.id)
      return AcceptOutcome::kDuplicate;
    return Status::InvalidArgument("two different entries by " + b.author() + " at one seq");
  }
  if (b.kind() == proto::ENTRY_GROUP_CREATE || (is_group() && b.lamport() < 2)) {
    return Status::InvalidArgument("a group has one creation entry");
  }
  if (b.seq() > have + 1) {
    if (b.seq() - have > kPendingPerAuthor) {
      return Status::InvalidArgument("entry seq " + std::to_string(b.seq()) +
                                     " is too far ahead of " + std::to_string(have));
    }
    auto& waiting = pending_[b.author()];
    if (auto it = waiting.find(b.seq()); it != waiting.end()) {
      if (it->second.id == e.id)
        return AcceptOutcome::kDuplicate;
      return Status::InvalidArgument("two different entries by " + b.author() + " at one seq");
    }
    if (waiting.size() >= kPendingPerAuthor) {
      return Status::ResourceExhausted("too many pending entries by " + b.author());
    }
    waiting.emplace(b.seq(), std::move(e));
    return AcceptOutcome::kPending;
  }
  auto admit = [&](const VerifiedEntry& x) -> Status {
    if (x.body.seq() > 1) {
      const VerifiedEntry& prev = entries_.at({x.body.author(), x.body.seq() - 1});
      if (x.body.lamport() <= prev.body.lamport()) {
        return Status::InvalidArgument("entry lamport does not increase for its author");
      }
    }
    return CheckAtPosition(x);
  };
  if (Status s = admit(e); !s.ok())
    return s;
  std::string author = b.author();
  Store(std::move(e));
  // Release what waited for this one; a released entry that fails the rules
  // is dropped with everything after it.
  auto it = pending_.find(author);
  while (it != pending_.end() && !it->second.empty()) {
    auto next = it->second.begin();
    if (next->first != held(author) + 1)
      break;
    VerifiedEntry x = std::move(next->second);
    it->second.erase(next);
    if (!admit(x).ok()) {
      it->second.clear();
      break;
    }
    Store(std::move(x));
  }
  if (it != pending_.end() && it->second.empty())
    pending_.erase(it);
  return AcceptOutcome::kStored;
}

std::vector<EntryId> Conversation::TakeNewlyStored() {
  std::vector<EntryId> out;
  out.swap(newly_stored_);
  return out;
}

Membership Conversation::CurrentMembership() const {
  if (tail_)
    return *tail_;
  return FoldOver(TotalOrder(), direct_pair_, nullptr).state;
}

std::vector<const VerifiedEntry*> Conversation::Ordered() const {
  std::vector<const VerifiedEntry*> order = TotalOrder();
  FoldResult f = FoldOver(order, direct_pair_, nullptr);
  std::vector<const VerifiedEntry*> out;
  for (size_t i = 0; i < order.size(); ++i) {
    if (f.valid[i])
      out.push_back(order[i]);
  }
  return out;
}

std::vector<const VerifiedEntry*> Conversation::MissingFor(const std::string& peer,
                                                           const Vector& theirs,
                                                           size_t limit) const {
  std::vector<const VerifiedEntry*> order = TotalOrder();
  FoldResult f = FoldOver(order, direct_pair_, &peer);
  std::vector<const VerifiedEntry*> out;
  std::set<std::string> blocked;  // authors whose next entry is withheld
  for (size_t i = 0; i < order.size() && out.size() < limit; ++i) {
    const proto::EntryBody& b = order[i]->body;
    auto it = theirs.find(b.author());
    uint64_t have = it == theirs.end() ? 0 : it->second;
    if (b.seq() <= have || blocked.count(b.author()))
      continue;
    // A purged entry cannot be passed on, and what follows it by the same
    // author would only wait for it at the peer.
    if (!f.may_see[i] || !f.valid[i] || order[i]->purged) {
      blocked.insert(b.author());
      continue;
    }
    out.push_back(order[i]);
  }
  return out;
}

}  // namespace confab::peer::chat
