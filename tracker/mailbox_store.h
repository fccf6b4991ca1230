// MailboxStore: the durable half of the mailbox (issue 14; design.md "The
// mailbox"). It keeps envelopes, opaque bytes the tracker cannot open, for
// a recipient until the recipient acknowledges them or they expire. A store
// that has one returns it from DirectoryStore::mailbox(); the SQLite
// directory does (directory_mailbox.cc), in the same directory.db.
//
// Every call that changes something is one transaction: when it returns OK
// the change is durable (synchronous=FULL), so a deposit answered "stored"
// survives kill -9 and power loss; when it fails nothing changed.
//
// Names are not checked against the members here: the caller (the service)
// decides who may deposit for whom. Reinstating a name (DirectoryStore)
// deletes what is held for it, since it was sealed to the old key. Time is
// passed in as unix seconds.
//
// Not thread-safe: as the DirectoryStore that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/protocol/tracker_features.h"

namespace confab::tracker {

// An envelope bigger than this is refused ("too large"), so that a deposit
// and a fetched envelope each fit one frame (65,519 bytes of plaintext)
// with room for their fields.
inline constexpr size_t kMaxEnvelopeBytes = protocol::kMaxMailboxEnvelopeBytes;

struct StoredEnvelope {
  uint64_t id = 0;  // assigned by the store: increasing, never reused
  std::string recipient;
  std::string author;
  int64_t deposited_at = 0;
  int64_t expires_at = 0;
  Bytes envelope;
};

struct MailboxQuota {
  uint64_t max_bytes = 64ull << 20;  // of envelopes held for one recipient
  uint64_t max_envelopes = 10'000;
};

struct MailboxTotals {
  uint64_t envelopes = 0;
  uint64_t bytes = 0;
};

struct MailboxPage {
  std::vector<StoredEnvelope> envelopes;
  bool more = false;  // others after the last one
};

class MailboxStore {
 public:
  virtual ~MailboxStore() = default;

  // Stores `envelope` from `author` for `recipient`, kept until
  // `expires_at`, and returns its id, once committed. InvalidArgument for
  // an empty envelope or one over kMaxEnvelopeBytes, a bad name, or
  // expires_at <= now; ResourceExhausted ("mailbox full") when the
  // recipient's envelopes would then exceed `quota` (checked in the same
  // transaction, so it holds exactly).
  [[nodiscard]] virtual Result<uint64_t> Deposit(std::string_view recipient,
                                                 std::string_view author, ByteView envelope,
                                                 int64_t now, int64_t expires_at,
                                                 const MailboxQuota& quota) = 0;

  // `recipient`'s envelopes with an id above `after_id`, oldest first: at
  // most `max_count`, and no more than `max_bytes` of envelopes in all,
  // except that the first is always returned whatever its size.
  [[nodiscard]] virtual Result<MailboxPage> Fetch(std::string_view recipient, uint64_t after_id,
                                                  size_t max_count, size_t max_bytes) = 0;

  // Deletes those of `ids` that are `recipient`'s (others' ids and unknown
  // ones are skipped) and returns what was deleted.
  [[nodiscard]] virtual Result<MailboxTotals> Acknowledge(std::string_view recipient,
                                                          std::span<const uint64_t> ids) = 0;

  // Deletes the envelopes whose expires_at <= `now` and returns what was
  // deleted.
  [[nodiscard]] virtual Result<MailboxTotals> Expire(int64_t now) = 0;

  // What is held in all, and for one recipient.
  [[nodiscard]] virtual Result<MailboxTotals> Totals() = 0;
  [[nodiscard]] virtual Result<MailboxTotals> TotalsFor(std::string_view recipient) = 0;
  // The `limit` recipients holding the most bytes, most first (ties by name).
  [[nodiscard]] virtual Result<std::vector<std::pair<std::string, MailboxTotals>>> TopRecipients(
      size_t limit) = 0;
};

}  // namespace confab::tracker
