// ContactBook: the people this node knows, the identity key pinned for each
// on first contact, and the person's decisions about them (blocked,
// verified, a changed key accepted). DESIGN.md's answers to "shared
// passwords" and "a compromised tracker": a key is pinned once, and a
// different key later is refused, recorded and shown until the person
// accepts it.
//
// Names are member names as certificates carry them (1 to 64 bytes of
// [a-z0-9._-], starting with a letter or digit); any other name is
// InvalidArgument. Keys are Ed25519 public keys (32 bytes).
//
// Every write is one transaction in the borrowed Database, which must
// outlive the ContactBook. Not thread-safe. Times are Unix milliseconds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/store/database.h"

namespace confab::peer {

inline constexpr size_t kMaxContactNameBytes = 64;
inline constexpr size_t kContactKeyBytes = 32;

struct Contact {
  std::string name;
  Bytes identity_key;  // empty until first contact
  int64_t pinned_at = 0;
  bool verified = false;  // the person compared safety numbers for this key
  bool blocked = false;
  Bytes pending_key;  // a different key seen since; empty if none
  int64_t pending_at = 0;
};

enum class PinOutcome {
  kPinned,   // first contact: `key` is now the pinned key
  kMatches,  // `key` is the key already pinned
};

class ContactBook {
 public:
  // `db` must be migrated (OpenPeerDatabase). InvalidArgument if null.
  [[nodiscard]] static Result<std::unique_ptr<ContactBook>> Open(store::Database* db);

  // On first contact pins `key` (creating the contact if needed). A key
  // equal to the pinned one is kMatches. A different key is refused with
  // AuthFailed and recorded as the contact's pending key (replacing an
  // earlier pending one) until AcceptKeyChange; the pinned key stays.
  [[nodiscard]] Result<PinOutcome> PinOnFirstContact(std::string_view name, ByteView key,
                                                     int64_t now_ms);

  // OK if `key` is the pinned key. NotFound if nothing is pinned for `name`
  // (the caller decides whether to pin); AuthFailed, recording the pending
  // key, if it differs.
  [[nodiscard]] Status CheckPin(std::string_view name, ByteView key, int64_t now_ms);

  // The person accepts the changed key: it becomes the pinned key and is no
  // longer verified (the old safety number no longer applies).
  // FailedPrecondition if no key change is pending.
  [[nodiscard]] Status AcceptKeyChange(std::string_view name, int64_t now_ms);

  // Block creates the contact if needed, so someone can be blocked before
  // they ever write; so does Unblock (an unpinned, unblocked record: what
  // `confab contacts add` records). Both are idempotent.
  [[nodiscard]] Status Block(std::string_view name);
  [[nodiscard]] Status Unblock(std::string_view name);
  // False for an unknown name.
  [[nodiscard]] Result<bool> IsBlocked(std::string_view name);

  // Marks the pinned key verified (after `confab verify`). NotFound if no
  // key is pinned; FailedPrecondition while a key change is pending, since
  // the person might be comparing the new key's number.
  [[nodiscard]] Status MarkVerified(std::string_view name);

  // NotFound if unknown.
  [[nodiscard]] Result<Contact> Get(std::string_view name);
  // Every contact, by name.
  [[nodiscard]] Result<std::vector<Contact>> List();
  // Forgets the contact, pin and flags included (`confab contacts remove`):
  // the next contact pins afresh. Messages are kept. NotFound if unknown.
  [[nodiscard]] Status Remove(std::string_view name);

 private:
  explicit ContactBook(store::Database* db) : db_(db) {}
  [[nodiscard]] Status SetBlocked(std::string_view name, bool blocked);

  store::Database* db_;
};

}  // namespace confab::peer
