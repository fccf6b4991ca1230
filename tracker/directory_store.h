// DirectoryStore: the one storage interface for the tracker's durable
// directory (members, certificates, invites, revocations, the append-only
// audit), so that a second backend (PostgreSQL, issue 16) can sit beside the
// SQLite one (Directory, directory.h). The contract of every call, the rules
// it enforces and its errors are those documented on Directory; a backend
// must keep them exactly (the shared directory suite checks both).
//
// Stage 1 of issue 16: the calls are still synchronous, as TrackerService
// uses them today. docs/design.md "Tracker storage" records how this becomes
// request/completion based for the asynchronous PostgreSQL backend without
// giving up the sans-I/O core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "tracker/mailbox_store.h"

namespace confab::tracker {

inline constexpr size_t kInviteHashBytes = 32;   // crypto::HashInviteSecret(secret)
inline constexpr size_t kIdentityKeyBytes = 32;  // Ed25519 public key
inline constexpr size_t kMaxNameBytes = 64;
inline constexpr int64_t kMaxInviteTtlSeconds = 365 * 86400;

struct Member {
  std::string name;
  Bytes identity_key;
  Bytes certificate;
  uint64_t serial = 0;
  int64_t enrolled_at = 0;
  bool revoked = false;
  int64_t revoked_at = 0;  // 0 unless revoked
  std::string revoke_reason;
  int64_t last_seen = 0;  // 0 until the member has been online
};

enum class AuditAction {
  kInvite,       // ops created an invite
  kJoin,         // a member enrolled
  kJoinRefused,  // an enrollment was refused (wrong, used or expired code, ...)
  kRevoke,
  kReinstate,
  kLookup,         // a member looked another up (appended by the server)
  kLookupRefused,  // (appended by the server)
  kRenew,          // a member's certificate reissued for the same key
};
std::string_view AuditActionName(AuditAction action);

struct AuditEntry {
  int64_t id = 0;  // increases with every append
  int64_t time = 0;
  std::string actor;
  AuditAction action = AuditAction::kInvite;
  std::string subject;
  std::string detail;
};

// What the certificate issuer is asked to sign during Enroll.
struct Issuance {
  std::string name;
  Bytes identity_key;
  uint64_t serial = 0;
  int64_t issued_at = 0;
};
// Returns the serialized, signed certificate, or an error that refuses the
// join. Called inside Enroll's transaction: it must not call the Directory.
using IssueFn = std::function<Result<Bytes>(const Issuance&)>;

class DirectoryStore {
 public:
  virtual ~DirectoryStore() = default;

  [[nodiscard]] virtual Status CreateInvite(std::string_view name, ByteView secret_hash,
                                            int64_t now, int64_t ttl_seconds) = 0;
  [[nodiscard]] virtual Result<Member> Enroll(ByteView secret_hash, ByteView identity_key,
                                              int64_t now, const IssueFn& issue) = 0;
  [[nodiscard]] virtual Result<uint64_t> NextSerial() = 0;
  [[nodiscard]] virtual Status Revoke(std::string_view name, int64_t now,
                                      std::string_view reason) = 0;
  [[nodiscard]] virtual Status Reinstate(std::string_view name, int64_t now) = 0;
  // Issues `name` a new certificate for the key they have (a new serial;
  // `issue` signs it) and keeps it as theirs, audited with `actor`.
  // NotFound for no such member, PermissionDenied for a revoked one.
  [[nodiscard]] virtual Result<Member> Renew(std::string_view name, int64_t now,
                                             std::string_view actor, const IssueFn& issue) = 0;
  [[nodiscard]] virtual Result<bool> IsRevoked(std::string_view name) = 0;
  [[nodiscard]] virtual Result<bool> IsKeyRevoked(ByteView identity_key) = 0;
  [[nodiscard]] virtual Result<Member> GetMember(std::string_view name) = 0;
  [[nodiscard]] virtual Result<Member> GetMemberByKey(ByteView identity_key) = 0;
  [[nodiscard]] virtual Result<Member> GetMemberByNoiseKey(ByteView noise_key) = 0;
  [[nodiscard]] virtual Result<std::vector<Member>> ListMembers() = 0;
  [[nodiscard]] virtual Status RecordLastSeen(std::string_view name, int64_t now) = 0;
  [[nodiscard]] virtual Status RecordLastSeen(
      const std::vector<std::pair<std::string, int64_t>>& seen) = 0;
  [[nodiscard]] virtual Status AppendAudits(const std::vector<AuditEntry>& entries) = 0;
  [[nodiscard]] virtual Status AppendAudit(int64_t now, std::string_view actor, AuditAction action,
                                           std::string_view subject, std::string_view detail) = 0;
  [[nodiscard]] virtual Result<std::vector<AuditEntry>> ListAudit(size_t limit) = 0;

  // The mailbox kept in the same store (issue 14), or null for a store that
  // has none yet (PostgreSQL): the tracker then does not offer it. Owned by
  // the store, and valid while it is.
  virtual MailboxStore* mailbox() { return nullptr; }
};

}  // namespace confab::tracker
