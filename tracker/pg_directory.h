// PgDirectory: the DirectoryStore on PostgreSQL (issue 16), for trackers
// that share one database. Every rule, refusal and message is the SQLite
// Directory's (directory.h); the shared directory suite runs both.
//
// How it differs underneath:
//   - One libpq connection; every query is a statement prepared once per
//     connection (PQprepare) and run with parameters (PQexecPrepared), keys
//     and certificates as binary BYTEA. No value is ever put into SQL text.
//   - Races between trackers: Enroll locks the invite row (SELECT ... FOR
//     UPDATE), so two trackers redeeming one invite together serialize on it
//     and exactly one wins; the other sees "invite code already used".
//     Revoke and Reinstate lock the member row the same way.
//   - Serials come from a sequence: never reused, but a failed enrollment
//     leaves a gap (the SQLite counter rolls back with the transaction).
//   - Reconnects: when the server restarts (or the connection drops), the
//     call that finds the connection gone reconnects, prepares again and runs
//     once more, if it had not yet sent COMMIT (so nothing can apply twice).
//     If the server is still away the call returns Unavailable
//     ("postgresql: ..."), and the next call tries again.
//
// Stage 2 of issue 16: the calls are synchronous (blocking libpq), as the
// DirectoryStore interface is today; each blocks the loop for its round
// trips. docs/design.md "Tracker storage" records the completion form that
// replaces this.
//
// Not thread-safe: one PgDirectory per thread; trackers (or threads) that
// share a database each open their own.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracker/directory_store.h"

struct pg_conn;
struct pg_result;

namespace confab::tracker {

class PgParams;

// Checks a `[database] url` before anything connects: a postgresql:// (or
// postgres://) URI, e.g. postgresql://confab@db.example/confab or, for a
// Unix socket, postgresql:///confab?host=/run/postgresql; or libpq's
// key=value form ("host=/run/postgresql dbname=confab"). InvalidArgument,
// with libpq's reason, for anything else.
[[nodiscard]] Status CheckPgUrl(std::string_view url);

// The cluster's identity, one row in the database (schema version 2).
struct PgCluster {
  std::string org;
  Bytes org_public_key;  // Ed25519, 32 bytes
  int64_t created_at = 0;
};

class PgDirectory final : public DirectoryStore, public MailboxStore {
 public:
  // Connects to `url` (a postgresql:// URI or libpq key=value form), brings
  // the schema up to date (MigratePgDirectory) and prepares the statements.
  // Unavailable if the server cannot be reached; FailedPrecondition if the
  // database was written by a newer confab.
  [[nodiscard]] static Result<std::unique_ptr<PgDirectory>> Open(const std::string& url);
  ~PgDirectory() override;
  PgDirectory(const PgDirectory&) = delete;
  PgDirectory& operator=(const PgDirectory&) = delete;

  [[nodiscard]] Status CreateInvite(std::string_view name, ByteView secret_hash, int64_t now,
                                    int64_t ttl_seconds) override;
  [[nodiscard]] Result<Member> Enroll(ByteView secret_hash, ByteView identity_key, int64_t now,
                                      const IssueFn& issue) override;
  [[nodiscard]] Result<uint64_t> NextSerial() override;
  [[nodiscard]] Status Revoke(std::string_view name, int64_t now, std::string_view reason) override;
  [[nodiscard]] Status Reinstate(std::string_view name, int64_t now) override;
  [[nodiscard]] Result<Member> Renew(std::string_view name, int64_t now, std::string_view actor,
                                     const IssueFn& issue) override;
  [[nodiscard]] Result<bool> IsRevoked(std::string_view name) override;
  [[nodiscard]] Result<bool> IsKeyRevoked(ByteView identity_key) override;
  [[nodiscard]] Result<Member> GetMember(std::string_view name) override;
  [[nodiscard]] Result<Member> GetMemberByKey(ByteView identity_key) override;
  [[nodiscard]] Result<Member> GetMemberByNoiseKey(ByteView noise_key) override;
  [[nodiscard]] Result<std::vector<Member>> ListMembers() override;
  [[nodiscard]] Status RecordLastSeen(std::string_view name, int64_t now) override;
  [[nodiscard]] Status RecordLastSeen(
      const std::vector<std::pair<std::string, int64_t>>& seen) override;
  [[nodiscard]] Status AppendAudits(const std::vector<AuditEntry>& entries) override;
  [[nodiscard]] Status AppendAudit(int64_t now, std::string_view actor, AuditAction action,
                                   std::string_view subject, std::string_view detail) override;
  [[nodiscard]] Result<std::vector<AuditEntry>> ListAudit(size_t limit) override;

  // ---- MailboxStore (pg_directory_mailbox.cc; schema version 3) ----
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

  // The cluster this database belongs to; NotFound before CreateCluster.
  [[nodiscard]] Result<PgCluster> GetCluster();
  // Records the cluster's identity once. FailedPrecondition if the database
  // already holds one (another `init --database` got there first).
  [[nodiscard]] Status CreateCluster(const PgCluster& cluster);

  // How many times this store has reconnected (tests and metrics).
  int reconnects() const { return reconnects_; }

 private:
  struct ResultDeleter {
    void operator()(pg_result* r) const;
  };
  using PgResult = std::unique_ptr<pg_result, ResultDeleter>;
  enum class Stmt : int;
  class Transaction;

  explicit PgDirectory(pg_conn* conn);

  Status Prepare();    // every statement, on a fresh connection
  Status Reconnect();  // PQreset, then Prepare
  // Runs `op` (which must only use Exec/Run/Transaction); once more after a
  // reconnect if the connection was lost before COMMIT was sent.
  template <typename Op>
  auto WithReconnect(Op&& op) -> decltype(op());
  Result<PgResult> Exec(Stmt stmt, const PgParams& params);
  Status Run(std::string_view sql);  // BEGIN, COMMIT, ROLLBACK
  Status ErrorStatus(const pg_result* r) const;

  Result<Member> EnrollInTransaction(ByteView secret_hash, ByteView identity_key, int64_t now,
                                     const IssueFn& issue, std::string* invite_name);
  Result<Member> OneMember(Stmt stmt, const PgParams& params, std::string_view what);
  Status InsertAudit(int64_t now, std::string_view actor, AuditAction action,
                     std::string_view subject, std::string_view detail);

  pg_conn* conn_;
  bool commit_sent_ = false;  // in the current WithReconnect attempt
  int reconnects_ = 0;
};

}  // namespace confab::tracker
