// Directory: the tracker's durable record of who belongs to the
// organisation (directory.db in the state directory, DESIGN.md "On disk").
//
// It holds members (name, Ed25519 identity key, current certificate, serial,
// enrollment and revocation times), invites (only a hash of each secret, so a
// stolen database cannot be used to join; callers pass
// crypto::HashInviteSecret(secret), the one definition of that hash), the
// revocation list (keyed by identity key and serial, kept even after a name
// is reinstated), a
// monotonically increasing certificate serial, and an append-only audit log
// (the database itself refuses UPDATE and DELETE on it).
//
// Rules it enforces, each in one SQLite transaction so that a refused or
// failed call changes nothing:
//   - An invite is for one name. A new invite for a name replaces that name's
//     pending one (the old code stops working). A name that is enrolled
//     cannot be invited; nor can a revoked name until ops Reinstate()s it,
//     so revoking someone is never undone by accident with a fresh invite.
//   - An invite works once, before it expires, for a key that has never been
//     revoked and is not already enrolled.
//   - Serials are never reused, even when an enrollment rolls back.
//
// Time is always passed in as unix seconds (`now`); the directory reads no
// clock, so tests and the server decide what time it is.
//
// Operations by ops (CreateInvite, Revoke, Reinstate) are audited with the
// actor "ops"; joins with the member's name; refused joins with "key:" and
// the first 16 hex digits of the presented key.
//
// Not thread-safe: use a Directory from one thread at a time (the tracker's
// loop thread, or one thread-pool job at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/member_name.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "tracker/directory_store.h"

namespace confab::store {
class Database;
class Statement;
}  // namespace confab::store

namespace confab::tracker {

// The SQLite DirectoryStore (the embedded default: one tracker, one file),
// and its MailboxStore (table `mailbox`, directory_mailbox.cc).
class Directory final : public DirectoryStore, public MailboxStore {
 public:
  // Opens or creates the directory at `path` (synchronous=FULL: a join that
  // was acknowledged survives power loss) and brings its schema up to date.
  // FailedPrecondition if the file was written by a newer confab,
  // Corruption if it is not a database.
  [[nodiscard]] static Result<std::unique_ptr<Directory>> Open(const std::string& path);
  ~Directory() override;
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;

  // Records an invite for `name` valid for `ttl_seconds` (1 s to
  // kMaxInviteTtlSeconds) from `now`, replacing any pending invite for that
  // name. InvalidArgument for a bad name, hash size or ttl;
  // FailedPrecondition if the name is enrolled or revoked, or the hash is
  // already in use.
  [[nodiscard]] Status CreateInvite(std::string_view name, ByteView secret_hash, int64_t now,
                                    int64_t ttl_seconds) override;

  // Redeems the invite whose secret hashes to `secret_hash` for
  // `identity_key`: allocates a serial, asks `issue` for the certificate,
  // records the member and marks the invite used, all in one transaction.
  // On any refusal nothing changes except one kJoinRefused audit entry:
  //   InvalidArgument     hash or key of the wrong size
  //   NotFound            no such invite (wrong code, or replaced)
  //   FailedPrecondition  "invite code already used" / "invite code expired" /
  //                       the key is already enrolled
  //   PermissionDenied    the key was revoked
  //   whatever `issue` returned, if it failed.
  [[nodiscard]] Result<Member> Enroll(ByteView secret_hash, ByteView identity_key, int64_t now,
                                      const IssueFn& issue) override;

  // Allocates the next certificate serial (1, 2, ...), durably.
  [[nodiscard]] Result<uint64_t> NextSerial() override;

  // Revokes `name`: marks the member, adds its key and serial to the
  // revocation list. NotFound for an unknown name; FailedPrecondition if
  // already revoked. `reason` must not be empty.
  [[nodiscard]] Status Revoke(std::string_view name, int64_t now, std::string_view reason) override;

  // Frees a revoked name so it can be invited again (a new person, or the
  // same person with a new key). The old key and serial stay revoked for
  // good. NotFound for an unknown name; FailedPrecondition if not revoked.
  [[nodiscard]] Status Reinstate(std::string_view name, int64_t now) override;
  [[nodiscard]] Result<Member> Renew(std::string_view name, int64_t now, std::string_view actor,
                                     const IssueFn& issue) override;

  // Whether the member `name` is revoked; NotFound if there is no such member.
  [[nodiscard]] Result<bool> IsRevoked(std::string_view name) override;
  // Whether `identity_key` was ever revoked (false for a key never seen).
  [[nodiscard]] Result<bool> IsKeyRevoked(ByteView identity_key) override;

  // Members, revoked ones included. NotFound if absent.
  [[nodiscard]] Result<Member> GetMember(std::string_view name) override;
  [[nodiscard]] Result<Member> GetMemberByKey(ByteView identity_key) override;
  // The member whose identity key's X25519 form (their Noise static key) is
  // `noise_key`. NotFound if none.
  [[nodiscard]] Result<Member> GetMemberByNoiseKey(ByteView noise_key) override;
  // Every member, sorted by name.
  [[nodiscard]] Result<std::vector<Member>> ListMembers() override;

  // Records that `name` was online at `now` (the server calls it when a
  // session ends). NotFound for an unknown name.
  [[nodiscard]] Status RecordLastSeen(std::string_view name, int64_t now) override;
  // The same for many members in one transaction (unknown names are
  // skipped): the server batches disconnects, so that thousands of members
  // leaving at once cost one disk sync, not one each.
  [[nodiscard]] Status RecordLastSeen(
      const std::vector<std::pair<std::string, int64_t>>& seen) override;

  // Appends many audit entries in one transaction (the server batches
  // lookups so that a busy tracker does not sync the disk per lookup).
  [[nodiscard]] Status AppendAudits(const std::vector<AuditEntry>& entries) override;

  // Appends one audit entry (in its own transaction).
  [[nodiscard]] Status AppendAudit(int64_t now, std::string_view actor, AuditAction action,
                                   std::string_view subject, std::string_view detail) override;
  // The most recent `limit` entries, newest first.
  [[nodiscard]] Result<std::vector<AuditEntry>> ListAudit(size_t limit) override;

  // ---- MailboxStore (directory_mailbox.cc) ----
  MailboxStore* mailbox() override { return this; }
  [[nodiscard]] Result<uint64_t> Deposit(std::string_view recipient, std::string_view author,
                                         ByteView envelope, int64_t now, int64_t expires_at,
                                         const MailboxQuota& quota) override;
  [[nodiscard]] Result<MailboxPage> Fetch(std::string_view recipient, uint64_t after_id,
                                          size_t max_count, size_t max_bytes) override;
  [[nodiscard]] Result<MailboxTotals> Acknowledge(std::string_view recipient,
                                                  std::span<const uint64_t> ids) override;
  [[nodiscard]] Result<MailboxTotals> Expire(int64_t now) override;
  [[nodiscard]] Result<MailboxTotals> Totals() override;
  [[nodiscard]] Result<MailboxTotals> TotalsFor(std::string_view recipient) override;
  [[nodiscard]] Result<std::vector<std::pair<std::string, MailboxTotals>>> TopRecipients(
      size_t limit) override;

 private:
  explicit Directory(std::unique_ptr<store::Database> db);

  Result<Member> EnrollInTransaction(ByteView secret_hash, ByteView identity_key, int64_t now,
                                     const IssueFn& issue, std::string* invite_name);
  Result<uint64_t> AllocateSerial();  // inside an open transaction
  Status FillNoiseKeys();             // rows from before schema version 3
  Status InsertAudit(int64_t now, std::string_view actor, AuditAction action,
                     std::string_view subject, std::string_view detail);
  // The statement in `*slot`, compiled on first use and reset for another
  // run. For the statements on the tracker's hot paths (every handshake and
  // lookup reads a member; lookups are audited): compiling SQL costs more
  // than running it.
  Result<store::Statement*> Cached(std::unique_ptr<store::Statement>* slot, std::string_view sql);
  // COUNT and SUM(size) of the rows `sql` selects with ?1 bound to `key`.
  Result<MailboxTotals> Count(std::string_view sql, std::string_view key);

  std::unique_ptr<store::Database> db_;
  // Declared after db_ so that they are finalized before it closes.
  std::unique_ptr<store::Statement> get_member_;
  std::unique_ptr<store::Statement> get_member_by_noise_key_;
  std::unique_ptr<store::Statement> insert_audit_;
};

}  // namespace confab::tracker
