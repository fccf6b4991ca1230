// One replicated conversation, sans I/O (docs/design.md, "Conversations"):
// the acceptance rules for entries from any member, the membership fold,
// the version vector and what a peer lacks. The caller persists what
// Accept stores; nothing here touches a socket, a file or the clock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "peer/chat/entry.h"

namespace confab::peer::chat {

inline constexpr size_t kMaxGroupMembers = 256;
inline constexpr size_t kPendingPerAuthor = 256;
inline constexpr size_t kEntriesPerBatch = 256;
inline constexpr size_t kMaxConversations = 10000;

// The identity key a person is known by (pinned contact or checked
// certificate), or nullopt for a person we cannot check.
using KeyLookup = std::function<std::optional<crypto::Ed25519PublicKey>(const std::string&)>;

struct Membership {
  std::set<std::string> members;
  std::set<std::string> admins;
  bool operator==(const Membership&) const = default;
};

// author -> highest contiguous seq held.
using Vector = std::map<std::string, uint64_t>;

// An entry's place in the total order: (lamport, author, seq).
using OrderKey = std::tuple<uint64_t, std::string, uint64_t>;

enum class AcceptOutcome { kStored, kPending, kDuplicate };

class Conversation {
 public:
  // A direct conversation between `a` and `b` (its id derived from them).
  [[nodiscard]] static Result<Conversation> Direct(std::string_view a, std::string_view b);
  // A group learnt from its create entry, already verified. InvalidArgument
  // unless it is a create entry with seq 1, lamport 1, a group id, an author
  // listed as member and admin, and 2..kMaxGroupMembers members.
  [[nodiscard]] static Result<Conversation> FromCreate(VerifiedEntry create);

  const Bytes& id() const { return id_; }
  bool is_group() const { return IsGroupId(id_); }

  // Applies every rule; a refused entry changes nothing. InvalidArgument:
  // wrong conversation, author is not a member at that point, author cut by
  // a removal, seq too far ahead, pending full, equivocation;
  // AuthFailed: author_key is not the key `keys` knows for the author.
  // Stored entries may release pending ones (see TakeNewlyStored).
  [[nodiscard]] Result<AcceptOutcome> Accept(VerifiedEntry e, const KeyLookup& keys);
  // A stored entry by id, or null.
  const VerifiedEntry* Find(const EntryId& id) const;
  // The stored entry of `author` at `seq`, or null.
  const VerifiedEntry* FindBySeq(const std::string& author, uint64_t seq) const;
  // The ids stored since the last call, in the order they were stored, so
  // the caller persists exactly those.
  std::vector<EntryId> TakeNewlyStored();

  // The fold over all stored membership entries in total order.
  Membership CurrentMembership() const;
  Vector vector() const;
  uint64_t held(const std::string& author) const;
  size_t pending_count(const std::string& author) const;
  uint64_t next_lamport() const { return max_lamport_ + 1; }

  // Valid entries in total order (lamport, author, seq): what is shown.
  std::vector<const VerifiedEntry*> Ordered() const;
  // What `peer` lacks given its vector: stored entries above its vector that
  // `peer` may see (a member just before the entry), oldest first, at most
  // `limit`.
  std::vector<const VerifiedEntry*> MissingFor(const std::string& peer, const Vector& theirs,
                                               size_t limit = kEntriesPerBatch) const;

 private:
  struct Fold {
    Membership state;
    std::vector<bool> valid;  // per entry of `order`
  };
  explicit Conversation(Bytes id) : id_(std::move(id)) {}
  std::vector<const VerifiedEntry*> TotalOrder() const;
  Fold Run(const std::vector<const VerifiedEntry*>& order) const;
  Status CheckAtPosition(const VerifiedEntry& e);
  void Store(VerifiedEntry e);

  Bytes id_;
  std::set<std::string> direct_pair_;
  std::map<std::pair<std::string, uint64_t>, VerifiedEntry> entries_;  // (author, seq)
  std::map<std::string, std::map<uint64_t, VerifiedEntry>> pending_;
  std::vector<EntryId> newly_stored_;
  uint64_t max_lamport_ = 0;
  std::map<EntryId, std::pair<std::string, uint64_t>> by_id_;
  // The last stored entry in total order, and the membership after it
  // (unset until needed, and after an entry lands inside the order):
  // Accept of an entry after every held one costs one fold step.
  std::optional<OrderKey> last_;
  std::optional<Membership> tail_;
};

}  // namespace confab::peer::chat
