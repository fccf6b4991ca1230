#include "tracker/pg_directory.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstring>

#include "tracker/pg_directory_internal.h"
#include "tracker/pg_schema.h"

namespace confab::tracker {

using namespace pg_detail;  // NOLINT(google-build-using-namespace)

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
      {"notify_revoked", "SELECT pg_notify('" + std::string(kPgRevocationChannel) + "', $1)"},
      // The mailbox (pg_directory_mailbox.cc). Deposits for one recipient
      // serialize on a transaction lock named after them, so the quota
      // holds across trackers (READ COMMITTED alone would let two fit).
      {"lock_recipient", "SELECT pg_advisory_xact_lock(hashtext('confab mailbox ' || $1::text))"},
      {"mailbox_held", "SELECT count(*), COALESCE(sum(size), 0) FROM mailbox WHERE recipient = $1"},
      {"insert_envelope",
       "INSERT INTO mailbox(recipient, author, size, deposited_at, expires_at, envelope) "
       "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"},
      {"fetch_envelopes",
       "SELECT id, author, deposited_at, expires_at, envelope FROM mailbox "
       "WHERE recipient = $1 AND id > $2 ORDER BY id LIMIT $3"},
      {"ack_envelope", "DELETE FROM mailbox WHERE id = $1 AND recipient = $2 RETURNING size"},
      {"expire_envelopes",
       "WITH gone AS (DELETE FROM mailbox WHERE expires_at <= $1 RETURNING size) "
       "SELECT count(*), COALESCE(sum(size), 0) FROM gone"},
      {"mailbox_totals", "SELECT count(*), COALESCE(sum(size), 0) FROM mailbox"},
      {"mailbox_top",
       "SELECT recipient, count(*), sum(size) AS bytes FROM mailbox GROUP BY recipient "
       "ORDER BY bytes DESC, recipient COLLATE \"C\" LIMIT $1"},
      {"drop_mailbox", "DELETE FROM mailbox WHERE recipient = $1"},
  };
  return kStatements;
}

}  // namespace

namespace pg_detail {

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

}  // namespace pg_detail

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

}  // namespace confab::tracker
