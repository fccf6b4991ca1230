#include "tracker/pg_directory.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "tracker/directory_rules.h"
#include "tracker/pg_schema.h"

namespace confab::tracker {

// Parameters of one prepared statement: text for names and numbers, binary
// for BYTEA. The strings are owned here so the pointers stay valid.
class PgParams {
 public:
  PgParams& Text(std::string_view s) {
    values_.emplace_back(s);
    formats_.push_back(0);
    return *this;
  }
  PgParams& Int(int64_t v) { return Text(std::to_string(v)); }
  PgParams& Binary(ByteView b) {
    values_.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
    formats_.push_back(1);
    return *this;
  }
  int size() const { return static_cast<int>(values_.size()); }
  // Valid until the next change.
  void Fill(std::vector<const char*>* values, std::vector<int>* lengths) const {
    for (const std::string& v : values_) {
      values->push_back(v.data());
      lengths->push_back(static_cast<int>(v.size()));
    }
  }
  const int* formats() const { return formats_.empty() ? nullptr : formats_.data(); }

 private:
  std::vector<std::string> values_;
  std::vector<int> formats_;
};

namespace {

// libpq prints server notices (and a FATAL that ends the session outside a
// query) on stderr by default; the tracker's log is the place for them.
void LogNotice(void* /*arg*/, const char* message) {
  std::string m = message != nullptr ? message : "";
  while (!m.empty() && m.back() == '\n')
    m.pop_back();
  spdlog::warn("postgresql: {}", m);
}

constexpr const char* kMemberColumns =
    "name, identity_key, certificate, serial, enrolled_at, revoked_at, revoke_reason, last_seen";

struct StatementText {
  const char* name;
  std::string sql;
};

std::string MemberQuery(const char* where) {
  return std::string("SELECT ") + kMemberColumns + " FROM members " + where;
}

// Indexed by PgDirectory::Stmt.
const std::vector<StatementText>& Statements() {
  static const std::vector<StatementText> kStatements = {
      {"member_by_name", MemberQuery("WHERE name = $1")},
      {"member_by_name_for_update", MemberQuery("WHERE name = $1 FOR UPDATE")},
      {"member_by_key", MemberQuery("WHERE identity_key = $1")},
      {"member_by_noise_key", MemberQuery("WHERE noise_key = $1")},
      // COLLATE "C": byte order, as SQLite sorts.
      {"list_members", MemberQuery("ORDER BY name COLLATE \"C\"")},
      {"drop_pending_invite", "DELETE FROM invites WHERE name = $1 AND used_at IS NULL"},
      {"insert_invite",
       "INSERT INTO invites(secret_hash, name, created_at, expires_at) VALUES ($1, $2, $3, $4)"},
      {"invite_for_update",
       "SELECT name, expires_at, used_at FROM invites WHERE secret_hash = $1 FOR UPDATE"},
      {"use_invite", "UPDATE invites SET used_at = $1 WHERE secret_hash = $2"},
      {"key_revoked", "SELECT 1 FROM revocations WHERE identity_key = $1 LIMIT 1"},
      {"next_serial", "SELECT nextval('certificate_serial')"},
      {"insert_member",
       "INSERT INTO members(name, identity_key, certificate, serial, enrolled_at, noise_key) "
       "VALUES ($1, $2, $3, $4, $5, $6)"},
      {"revoke_member", "UPDATE members SET revoked_at = $1, revoke_reason = $2 WHERE name = $3"},
      {"insert_revocation",
       "INSERT INTO revocations(serial, name, identity_key, revoked_at, reason) "
       "VALUES ($1, $2, $3, $4, $5)"},
      {"delete_member", "DELETE FROM members WHERE name = $1"},
      {"record_last_seen", "UPDATE members SET last_seen = $1 WHERE name = $2"},
      {"insert_audit",
       "INSERT INTO audit(time, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)"},
      {"get_cluster", "SELECT org, org_public_key, created_at FROM cluster"},
      {"create_cluster",
       "INSERT INTO cluster(org, org_public_key, created_at) VALUES ($1, $2, $3) "
       "ON CONFLICT DO NOTHING"},
      {"list_audit",
       "SELECT id, time, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT $1"},
      {"update_certificate", "UPDATE members SET certificate = $1, serial = $2 WHERE name = $3"},
  };
  return kStatements;
}

std::string Trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

bool IsNull(const PGresult* r, int row, int col) {
  return PQgetisnull(r, row, col) != 0;
}
std::string TextAt(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}
int64_t IntAt(const PGresult* r, int row, int col) {
  return IsNull(r, row, col) ? 0 : std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}
// Text-format BYTEA ("\x0a1b...").
Bytes BytesAt(const PGresult* r, int row, int col) {
  size_t n = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col)), &n);
  if (raw == nullptr)
    return {};
  Bytes out(raw, raw + n);
  PQfreemem(raw);
  return out;
}

Member MemberAt(const PGresult* r, int row) {
  Member m;
  m.name = TextAt(r, row, 0);
  m.identity_key = BytesAt(r, row, 1);
  m.certificate = BytesAt(r, row, 2);
  m.serial = static_cast<uint64_t>(IntAt(r, row, 3));
  m.enrolled_at = IntAt(r, row, 4);
  m.revoked = !IsNull(r, row, 5);
  m.revoked_at = IntAt(r, row, 5);
  m.revoke_reason = TextAt(r, row, 6);
  m.last_seen = IntAt(r, row, 7);
  return m;
}

}  // namespace

Status CheckPgUrl(std::string_view url) {
  const bool uri = url.starts_with("postgresql://") || url.starts_with("postgres://");
  if (!uri && url.find('=') == std::string_view::npos)
    return Status::InvalidArgument("database url '" + std::string(url) +
                                   "' is neither a postgresql:// URL nor libpq key=value "
                                   "settings (for example postgresql:///confab?host=/run/"
                                   "postgresql)");
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(url).c_str(), &err);
  if (opts == nullptr) {
    std::string why = err != nullptr ? Trimmed(err) : "out of memory";
    PQfreemem(err);
    return Status::InvalidArgument("database url is not valid: " + why);
  }
  PQconninfoFree(opts);
  return Status::Ok();
}

enum class PgDirectory::Stmt : int {
  kMemberByName,
  kMemberByNameForUpdate,
  kMemberByKey,
  kMemberByNoiseKey,
  kListMembers,
  kDropPendingInvite,
  kInsertInvite,
  kInviteForUpdate,
  kUseInvite,
  kKeyRevoked,
  kNextSerial,
  kInsertMember,
  kRevokeMember,
  kInsertRevocation,
  kDeleteMember,
  kRecordLastSeen,
  kInsertAudit,
  kGetCluster,
  kCreateCluster,
  kListAudit,
  kUpdateCertificate,
};

// BEGIN now; ROLLBACK unless Commit() ran.
class PgDirectory::Transaction {
 public:
  explicit Transaction(PgDirectory* d) : d_(d) {}
  ~Transaction() {
    if (begun_ && !done_)
      (void)d_->Run("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Begin() {
    CONFAB_RETURN_IF_ERROR(d_->Run("BEGIN"));
    begun_ = true;
    return Status::Ok();
  }
  Status Commit() {
    done_ = true;
    d_->commit_sent_ = true;
    return d_->Run("COMMIT");
  }

 private:
  PgDirectory* d_;
  bool begun_ = false;
  bool done_ = false;
};

void PgDirectory::ResultDeleter::operator()(pg_result* r) const {
  PQclear(r);
}

Result<std::unique_ptr<PgDirectory>> PgDirectory::Open(const std::string& url) {
  CONFAB_RETURN_IF_ERROR(CheckPgUrl(url));
  pg_conn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr)
    return Status::ResourceExhausted("postgresql: out of memory");
  std::unique_ptr<PgDirectory> d(new PgDirectory(conn));
  PQsetNoticeProcessor(conn, &LogNotice, nullptr);
  if (PQstatus(conn) != CONNECTION_OK)
    return Status::Unavailable("postgresql: cannot connect: " + Trimmed(PQerrorMessage(conn)));
  CONFAB_RETURN_IF_ERROR(MigratePgDirectory(conn).status());
  CONFAB_RETURN_IF_ERROR(d->Prepare());
  return d;
}

PgDirectory::PgDirectory(pg_conn* conn) : conn_(conn) {}

PgDirectory::~PgDirectory() {
  PQfinish(conn_);
}

Status PgDirectory::Prepare() {
  for (const StatementText& st : Statements()) {
    PgResult r(PQprepare(conn_, st.name, st.sql.c_str(), 0, nullptr));
    if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
      return ErrorStatus(r.get()).WithContext(std::string("prepare ") + st.name);
  }
  return Status::Ok();
}

Status PgDirectory::Reconnect() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK)
    return Status::Unavailable("postgresql: cannot reconnect: " + Trimmed(PQerrorMessage(conn_)));
  ++reconnects_;
  return Prepare();
}

template <typename Op>
auto PgDirectory::WithReconnect(Op&& op) -> decltype(op()) {
  if (PQstatus(conn_) != CONNECTION_OK)
    CONFAB_RETURN_IF_ERROR(Reconnect());
  commit_sent_ = false;
  auto first = op();
  if (first.ok() || PQstatus(conn_) == CONNECTION_OK || commit_sent_)
    return first;
  // The connection was lost before anything could commit: the server
  // restarted, or the network dropped. Once more on a fresh connection.
  CONFAB_RETURN_IF_ERROR(Reconnect());
  commit_sent_ = false;
  return op();
}

Status PgDirectory::ErrorStatus(const pg_result* r) const {
  std::string msg = Trimmed(r != nullptr ? PQresultErrorMessage(r) : "");
  if (msg.empty())
    msg = Trimmed(PQerrorMessage(conn_));
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  // Class 23: integrity constraint violation (unique keys, the audit's
  // append-only trigger), a refusal as in SQLite.
  if (state != nullptr && std::strncmp(state, "23", 2) == 0)
    return Status::FailedPrecondition("postgresql: " + msg);
  return Status::Unavailable("postgresql: " + msg);
}

Result<PgDirectory::PgResult> PgDirectory::Exec(Stmt stmt, const PgParams& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  params.Fill(&values, &lengths);
  PgResult r(PQexecPrepared(conn_, Statements()[static_cast<size_t>(stmt)].name, params.size(),
                            values.data(), lengths.data(), params.formats(), 0));
  ExecStatusType st = r != nullptr ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return ErrorStatus(r.get());
  return r;
}

Status PgDirectory::Run(std::string_view sql) {
  PgResult r(PQexec(conn_, std::string(sql).c_str()));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    return ErrorStatus(r.get()).WithContext(sql);
  return Status::Ok();
}

Status PgDirectory::CreateInvite(std::string_view name, ByteView secret_hash, int64_t now,
                                 int64_t ttl_seconds) {
  CONFAB_RETURN_IF_ERROR(CheckInvite(name, secret_hash, ttl_seconds));
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_ASSIGN_OR_RETURN(PgResult found, Exec(Stmt::kMemberByName, PgParams().Text(name)));
    if (PQntuples(found.get()) > 0)
      return EnrolledNameRefusal(name, !IsNull(found.get(), 0, 5));
    CONFAB_ASSIGN_OR_RETURN(PgResult dropped,
                            Exec(Stmt::kDropPendingInvite, PgParams().Text(name)));
    const bool replaced = std::strcmp(PQcmdTuples(dropped.get()), "0") != 0;
    CONFAB_RETURN_IF_ERROR(
        Exec(Stmt::kInsertInvite,
             PgParams().Binary(secret_hash).Text(name).Int(now).Int(now + ttl_seconds))
            .status()
            .WithContext("create invite"));
    std::string detail = "expires " + std::to_string(now + ttl_seconds);
    if (replaced)
      detail += ", replaced the pending invite";
    CONFAB_RETURN_IF_ERROR(InsertAudit(now, kOpsActor, AuditAction::kInvite, name, detail));
    return tx.Commit();
  });
}

Result<Member> PgDirectory::Enroll(ByteView secret_hash, ByteView identity_key, int64_t now,
                                   const IssueFn& issue) {
  std::string invite_name;
  Result<Member> member = WithReconnect([&]() -> Result<Member> {
    invite_name.clear();
    return EnrollInTransaction(secret_hash, identity_key, now, issue, &invite_name);
  });
  if (!member.ok()) {
    // As in Directory::Enroll: the refusal is recorded on its own, and a
    // failure to audit does not change what the caller sees.
    (void)AppendAudit(now, KeyActor(identity_key), AuditAction::kJoinRefused, invite_name,
                      member.status().ToString());
  }
  return member;
}

Result<Member> PgDirectory::EnrollInTransaction(ByteView secret_hash, ByteView identity_key,
                                                int64_t now, const IssueFn& issue,
                                                std::string* invite_name) {
  CONFAB_RETURN_IF_ERROR(CheckSize(secret_hash, kInviteHashBytes, "an invite hash"));
  CONFAB_RETURN_IF_ERROR(CheckSize(identity_key, kIdentityKeyBytes, "an identity key"));
  Transaction tx(this);
  CONFAB_RETURN_IF_ERROR(tx.Begin());
  // FOR UPDATE: a second tracker redeeming the same invite waits here, then
  // reads the row as the first left it (used).
  CONFAB_ASSIGN_OR_RETURN(PgResult invite,
                          Exec(Stmt::kInviteForUpdate, PgParams().Binary(secret_hash)));
  if (PQntuples(invite.get()) == 0)
    return Status::NotFound("unknown invite code");
  *invite_name = TextAt(invite.get(), 0, 0);
  if (!IsNull(invite.get(), 0, 2))
    return Status::FailedPrecondition("invite code already used");
  if (now >= IntAt(invite.get(), 0, 1))
    return Status::FailedPrecondition("invite code expired");

  CONFAB_ASSIGN_OR_RETURN(PgResult revoked,
                          Exec(Stmt::kKeyRevoked, PgParams().Binary(identity_key)));
  if (PQntuples(revoked.get()) > 0)
    return Status::PermissionDenied("this identity key was revoked");
  CONFAB_ASSIGN_OR_RETURN(PgResult existing,
                          Exec(Stmt::kMemberByKey, PgParams().Binary(identity_key)));
  if (PQntuples(existing.get()) > 0)
    return Status::FailedPrecondition("this identity key is already enrolled as " +
                                      QuoteName(TextAt(existing.get(), 0, 0)));

  Member m;
  m.name = *invite_name;
  m.identity_key = ToBytes(identity_key);
  m.enrolled_at = now;
  CONFAB_ASSIGN_OR_RETURN(PgResult serial, Exec(Stmt::kNextSerial, PgParams()));
  m.serial = static_cast<uint64_t>(IntAt(serial.get(), 0, 0));
  Result<Bytes> cert = issue(Issuance{m.name, m.identity_key, m.serial, now});
  if (!cert.ok())
    return cert.status().WithContext("issue certificate");
  m.certificate = std::move(cert).value();
  CONFAB_ASSIGN_OR_RETURN(Bytes noise_key, NoiseKeyOf(m.identity_key));
  CONFAB_RETURN_IF_ERROR(Exec(Stmt::kInsertMember, PgParams()
                                                       .Text(m.name)
                                                       .Binary(m.identity_key)
                                                       .Binary(m.certificate)
                                                       .Int(static_cast<int64_t>(m.serial))
                                                       .Int(now)
                                                       .Binary(noise_key))
                             .status()
                             .WithContext("record member"));
  CONFAB_RETURN_IF_ERROR(Exec(Stmt::kUseInvite, PgParams().Int(now).Binary(secret_hash)).status());
  CONFAB_RETURN_IF_ERROR(
      InsertAudit(now, m.name, AuditAction::kJoin, m.name,
                  "serial " + std::to_string(m.serial) + ", " + KeyActor(identity_key)));
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return m;
}

Result<uint64_t> PgDirectory::NextSerial() {
  return WithReconnect([&]() -> Result<uint64_t> {
    CONFAB_ASSIGN_OR_RETURN(PgResult serial, Exec(Stmt::kNextSerial, PgParams()));
    return static_cast<uint64_t>(IntAt(serial.get(), 0, 0));
  });
}

Status PgDirectory::Revoke(std::string_view name, int64_t now, std::string_view reason) {
  if (reason.empty())
    return Status::InvalidArgument("a revocation needs a reason");
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_ASSIGN_OR_RETURN(
        Member m, OneMember(Stmt::kMemberByNameForUpdate, PgParams().Text(name), QuoteName(name)));
    if (m.revoked)
      return Status::FailedPrecondition(QuoteName(name) + " is already revoked");
    CONFAB_RETURN_IF_ERROR(
        Exec(Stmt::kRevokeMember, PgParams().Int(now).Text(reason).Text(name)).status());
    CONFAB_RETURN_IF_ERROR(Exec(Stmt::kInsertRevocation, PgParams()
                                                             .Int(static_cast<int64_t>(m.serial))
                                                             .Text(name)
                                                             .Binary(m.identity_key)
                                                             .Int(now)
                                                             .Text(reason))
                               .status());
    CONFAB_RETURN_IF_ERROR(
        InsertAudit(now, kOpsActor, AuditAction::kRevoke, name,
                    "serial " + std::to_string(m.serial) + ": " + std::string(reason)));
    return tx.Commit();
  });
}

Status PgDirectory::Reinstate(std::string_view name, int64_t now) {
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_ASSIGN_OR_RETURN(
        Member m, OneMember(Stmt::kMemberByNameForUpdate, PgParams().Text(name), QuoteName(name)));
    if (!m.revoked)
      return Status::FailedPrecondition(QuoteName(name) + " is not revoked");
    CONFAB_RETURN_IF_ERROR(Exec(Stmt::kDeleteMember, PgParams().Text(name)).status());
    CONFAB_RETURN_IF_ERROR(
        InsertAudit(now, kOpsActor, AuditAction::kReinstate, name,
                    "name freed; serial " + std::to_string(m.serial) + " stays revoked"));
    return tx.Commit();
  });
}

Result<Member> PgDirectory::Renew(std::string_view name, int64_t now, std::string_view actor,
                                  const IssueFn& issue) {
  return WithReconnect([&]() -> Result<Member> {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_ASSIGN_OR_RETURN(
        Member m, OneMember(Stmt::kMemberByNameForUpdate, PgParams().Text(name), QuoteName(name)));
    CONFAB_RETURN_IF_ERROR(CheckRenewable(m));
    const uint64_t old_serial = m.serial;
    CONFAB_ASSIGN_OR_RETURN(PgResult serial, Exec(Stmt::kNextSerial, PgParams()));
    m.serial = static_cast<uint64_t>(IntAt(serial.get(), 0, 0));
    Result<Bytes> cert = issue(Issuance{m.name, m.identity_key, m.serial, now});
    if (!cert.ok())
      return cert.status().WithContext("issue certificate");
    m.certificate = std::move(cert).value();
    CONFAB_RETURN_IF_ERROR(
        Exec(Stmt::kUpdateCertificate,
             PgParams().Binary(m.certificate).Int(static_cast<int64_t>(m.serial)).Text(name))
            .status()
            .WithContext("record the new certificate"));
    CONFAB_RETURN_IF_ERROR(
        InsertAudit(now, actor, AuditAction::kRenew, m.name, RenewDetail(old_serial, m.serial)));
    CONFAB_RETURN_IF_ERROR(tx.Commit());
    return m;
  });
}

Result<bool> PgDirectory::IsRevoked(std::string_view name) {
  CONFAB_ASSIGN_OR_RETURN(Member m, GetMember(name));
  return m.revoked;
}

Result<bool> PgDirectory::IsKeyRevoked(ByteView identity_key) {
  return WithReconnect([&]() -> Result<bool> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kKeyRevoked, PgParams().Binary(identity_key)));
    return PQntuples(r.get()) > 0;
  });
}

Result<Member> PgDirectory::OneMember(Stmt stmt, const PgParams& params, std::string_view what) {
  CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(stmt, params));
  if (PQntuples(r.get()) == 0)
    return Status::NotFound("no member " + std::string(what));
  return MemberAt(r.get(), 0);
}

Result<Member> PgDirectory::GetMember(std::string_view name) {
  return WithReconnect(
      [&] { return OneMember(Stmt::kMemberByName, PgParams().Text(name), QuoteName(name)); });
}

Result<Member> PgDirectory::GetMemberByKey(ByteView identity_key) {
  return WithReconnect([&] {
    return OneMember(Stmt::kMemberByKey, PgParams().Binary(identity_key),
                     "with key " + ToHex(identity_key));
  });
}

Result<Member> PgDirectory::GetMemberByNoiseKey(ByteView noise_key) {
  return WithReconnect([&] {
    return OneMember(Stmt::kMemberByNoiseKey, PgParams().Binary(noise_key), "with that Noise key");
  });
}

Result<std::vector<Member>> PgDirectory::ListMembers() {
  return WithReconnect([&]() -> Result<std::vector<Member>> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kListMembers, PgParams()));
    std::vector<Member> members;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      members.push_back(MemberAt(r.get(), i));
    return members;
  });
}

Status PgDirectory::RecordLastSeen(std::string_view name, int64_t now) {
  return WithReconnect([&]() -> Status {
    CONFAB_ASSIGN_OR_RETURN(PgResult r,
                            Exec(Stmt::kRecordLastSeen, PgParams().Int(now).Text(name)));
    if (std::strcmp(PQcmdTuples(r.get()), "0") == 0)
      return Status::NotFound("no member " + QuoteName(name));
    return Status::Ok();
  });
}

Status PgDirectory::RecordLastSeen(const std::vector<std::pair<std::string, int64_t>>& seen) {
  if (seen.empty())
    return Status::Ok();
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    for (const auto& [name, time] : seen)  // unknown names update nothing: fine
      CONFAB_RETURN_IF_ERROR(Exec(Stmt::kRecordLastSeen, PgParams().Int(time).Text(name)).status());
    return tx.Commit();
  });
}

Status PgDirectory::InsertAudit(int64_t now, std::string_view actor, AuditAction action,
                                std::string_view subject, std::string_view detail) {
  return Exec(Stmt::kInsertAudit, PgParams()
                                      .Int(now)
                                      .Text(actor)
                                      .Text(AuditActionName(action))
                                      .Text(subject)
                                      .Text(detail))
      .status()
      .WithContext("append audit");
}

Status PgDirectory::AppendAudits(const std::vector<AuditEntry>& entries) {
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    for (const AuditEntry& e : entries)
      CONFAB_RETURN_IF_ERROR(InsertAudit(e.time, e.actor, e.action, e.subject, e.detail));
    return tx.Commit();
  });
}

Status PgDirectory::AppendAudit(int64_t now, std::string_view actor, AuditAction action,
                                std::string_view subject, std::string_view detail) {
  return WithReconnect([&]() -> Status {
    Transaction tx(this);
    CONFAB_RETURN_IF_ERROR(tx.Begin());
    CONFAB_RETURN_IF_ERROR(InsertAudit(now, actor, action, subject, detail));
    return tx.Commit();
  });
}

Result<std::vector<AuditEntry>> PgDirectory::ListAudit(size_t limit) {
  const auto capped = static_cast<int64_t>(std::min(limit, static_cast<size_t>(INT64_MAX)));
  return WithReconnect([&]() -> Result<std::vector<AuditEntry>> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kListAudit, PgParams().Int(capped)));
    std::vector<AuditEntry> entries;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      AuditEntry e;
      e.id = IntAt(r.get(), i, 0);
      e.time = IntAt(r.get(), i, 1);
      e.actor = TextAt(r.get(), i, 2);
      const std::string action = TextAt(r.get(), i, 3);
      std::optional<AuditAction> known = AuditActionFromName(action);
      if (!known)
        return Status::Corruption("audit entry " + std::to_string(e.id) + " has unknown action " +
                                  QuoteName(action));
      e.action = *known;
      e.subject = TextAt(r.get(), i, 4);
      e.detail = TextAt(r.get(), i, 5);
      entries.push_back(std::move(e));
    }
    return entries;
  });
}

Result<PgCluster> PgDirectory::GetCluster() {
  return WithReconnect([&]() -> Result<PgCluster> {
    CONFAB_ASSIGN_OR_RETURN(PgResult r, Exec(Stmt::kGetCluster, PgParams()));
    if (PQntuples(r.get()) == 0)
      return Status::NotFound(
          "the database holds no confab cluster yet; create one with "
          "`confab-tracker init --database URL`");
    return PgCluster{TextAt(r.get(), 0, 0), BytesAt(r.get(), 0, 1), IntAt(r.get(), 0, 2)};
  });
}

Status PgDirectory::CreateCluster(const PgCluster& cluster) {
  return WithReconnect([&]() -> Status {
    CONFAB_ASSIGN_OR_RETURN(
        PgResult r,
        Exec(Stmt::kCreateCluster,
             PgParams().Text(cluster.org).Binary(cluster.org_public_key).Int(cluster.created_at)));
    if (std::strcmp(PQcmdTuples(r.get()), "1") == 0)
      return Status::Ok();
    auto existing = GetCluster();
    return Status::FailedPrecondition(
        "the database already holds the cluster of org '" +
        (existing.ok() ? existing->org : std::string("?")) +
        "'; prepare another tracker for it with `confab-tracker join-cluster`");
  });
}

}  // namespace confab::tracker
