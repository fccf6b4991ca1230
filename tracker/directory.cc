#include "tracker/directory.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/crypto/identity.h"
#include "common/store/database.h"
#include "common/store/migration.h"
#include "common/store/statement.h"
#include "common/store/transaction.h"
#include "tracker/directory_rules.h"
#include "tracker/directory_schema.h"

namespace confab::tracker {
namespace {

using store::Statement;
using store::StepResult;
using store::Transaction;

constexpr std::string_view kMemberColumns =
    "name, identity_key, certificate, serial, enrolled_at, revoked_at, revoke_reason, last_seen";

Member ReadMember(const Statement& st) {
  Member m;
  m.name = st.ColumnText(0);
  m.identity_key = st.ColumnBlob(1);
  m.certificate = st.ColumnBlob(2);
  m.serial = static_cast<uint64_t>(st.ColumnInt64(3));
  m.enrolled_at = st.ColumnInt64(4);
  m.revoked = !st.ColumnIsNull(5);
  m.revoked_at = st.ColumnInt64(5);
  m.revoke_reason = st.ColumnText(6);
  m.last_seen = st.ColumnInt64(7);
  return m;
}

// Runs a prepared single-member query; NotFound names `what`.
Result<Member> ReadOneMember(Statement& st, std::string_view what) {
  CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
  if (r != StepResult::kRow)
    return Status::NotFound("no member " + std::string(what));
  return ReadMember(st);
}

}  // namespace

Result<std::unique_ptr<Directory>> Directory::Open(const std::string& path) {
  store::Options options;
  options.durability = store::Durability::kFull;
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db,
                          store::Database::Open(path, options));
  CONFAB_RETURN_IF_ERROR(store::Migrate(*db, DirectorySchema()));
  std::unique_ptr<Directory> directory(new Directory(std::move(db)));
  CONFAB_RETURN_IF_ERROR(directory->FillNoiseKeys());
  return directory;
}

Status Directory::FillNoiseKeys() {
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(
      Statement missing,
      db_->Prepare("SELECT name, identity_key FROM members WHERE noise_key IS NULL"));
  std::vector<std::pair<std::string, Bytes>> rows;
  for (;;) {
    CONFAB_ASSIGN_OR_RETURN(StepResult r, missing.Step());
    if (r == StepResult::kDone)
      break;
    rows.emplace_back(missing.ColumnText(0), missing.ColumnBlob(1));
  }
  CONFAB_ASSIGN_OR_RETURN(Statement fill,
                          db_->Prepare("UPDATE members SET noise_key = ?1 WHERE name = ?2"));
  for (const auto& [name, identity_key] : rows) {
    CONFAB_ASSIGN_OR_RETURN(Bytes noise_key, NoiseKeyOf(identity_key));
    fill.Reset();
    fill.BindBlob(1, noise_key).BindText(2, name);
    CONFAB_RETURN_IF_ERROR(fill.Run());
  }
  return tx.Commit();
}

Directory::Directory(std::unique_ptr<store::Database> db) : db_(std::move(db)) {}
Directory::~Directory() = default;

Status Directory::CreateInvite(std::string_view name, ByteView secret_hash, int64_t now,
                               int64_t ttl_seconds) {
  CONFAB_RETURN_IF_ERROR(CheckInvite(name, secret_hash, ttl_seconds));

  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(Statement find,
                          db_->Prepare("SELECT revoked_at FROM members WHERE name = ?1"));
  find.BindText(1, name);
  CONFAB_ASSIGN_OR_RETURN(StepResult found, find.Step());
  if (found == StepResult::kRow)
    return EnrolledNameRefusal(name, !find.ColumnIsNull(0));
  CONFAB_ASSIGN_OR_RETURN(Statement drop,
                          db_->Prepare("DELETE FROM invites WHERE name = ?1 AND used_at IS NULL"));
  drop.BindText(1, name);
  CONFAB_RETURN_IF_ERROR(drop.Run());
  const int64_t replaced = db_->changes();
  CONFAB_ASSIGN_OR_RETURN(Statement insert,
                          db_->Prepare("INSERT INTO invites(secret_hash, name, created_at, "
                                       "expires_at) VALUES (?1, ?2, ?3, ?4)"));
  insert.BindBlob(1, secret_hash)
      .BindText(2, name)
      .BindInt64(3, now)
      .BindInt64(4, now + ttl_seconds);
  CONFAB_RETURN_IF_ERROR(insert.Run().WithContext("create invite"));
  std::string detail = "expires " + std::to_string(now + ttl_seconds);
  if (replaced > 0)
    detail += ", replaced the pending invite";
  CONFAB_RETURN_IF_ERROR(InsertAudit(now, kOpsActor, AuditAction::kInvite, name, detail));
  return tx.Commit();
}

Result<Member> Directory::Enroll(ByteView secret_hash, ByteView identity_key, int64_t now,
                                 const IssueFn& issue) {
  std::string invite_name;
  Result<Member> member = EnrollInTransaction(secret_hash, identity_key, now, issue, &invite_name);
  if (!member.ok()) {
    // The enrollment's transaction is gone by now; the refusal is recorded
    // on its own. Failing to audit must not turn a refusal into something
    // else, so the original error is what the caller sees.
    (void)AppendAudit(now, KeyActor(identity_key), AuditAction::kJoinRefused, invite_name,
                      member.status().ToString());
  }
  return member;
}

Result<Member> Directory::EnrollInTransaction(ByteView secret_hash, ByteView identity_key,
                                              int64_t now, const IssueFn& issue,
                                              std::string* invite_name) {
  CONFAB_RETURN_IF_ERROR(CheckSize(secret_hash, kInviteHashBytes, "an invite hash"));
  CONFAB_RETURN_IF_ERROR(CheckSize(identity_key, kIdentityKeyBytes, "an identity key"));
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));

  CONFAB_ASSIGN_OR_RETURN(
      Statement find,
      db_->Prepare("SELECT name, expires_at, used_at FROM invites WHERE secret_hash = ?1"));
  find.BindBlob(1, secret_hash);
  CONFAB_ASSIGN_OR_RETURN(StepResult found, find.Step());
  if (found != StepResult::kRow)
    return Status::NotFound("unknown invite code");
  *invite_name = find.ColumnText(0);
  if (!find.ColumnIsNull(2))
    return Status::FailedPrecondition("invite code already used");
  if (now >= find.ColumnInt64(1))
    return Status::FailedPrecondition("invite code expired");

  CONFAB_ASSIGN_OR_RETURN(bool revoked, IsKeyRevoked(identity_key));
  if (revoked)
    return Status::PermissionDenied("this identity key was revoked");
  Result<Member> existing = GetMemberByKey(identity_key);
  if (existing.ok())
    return Status::FailedPrecondition("this identity key is already enrolled as " +
                                      QuoteName(existing->name));
  if (existing.status().code() != Status::Code::kNotFound)
    return existing.status();

  Member m;
  m.name = *invite_name;
  m.identity_key = ToBytes(identity_key);
  m.enrolled_at = now;
  CONFAB_ASSIGN_OR_RETURN(m.serial, AllocateSerial());
  Result<Bytes> cert = issue(Issuance{m.name, m.identity_key, m.serial, now});
  if (!cert.ok())
    return cert.status().WithContext("issue certificate");
  m.certificate = std::move(cert).value();

  CONFAB_ASSIGN_OR_RETURN(Bytes noise_key, NoiseKeyOf(m.identity_key));
  CONFAB_ASSIGN_OR_RETURN(Statement insert,
                          db_->Prepare("INSERT INTO members(name, identity_key, certificate, "
                                       "serial, enrolled_at, noise_key) "
                                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  insert.BindText(1, m.name)
      .BindBlob(2, m.identity_key)
      .BindBlob(3, m.certificate)
      .BindInt64(4, static_cast<int64_t>(m.serial))
      .BindInt64(5, now)
      .BindBlob(6, noise_key);
  CONFAB_RETURN_IF_ERROR(insert.Run().WithContext("record member"));
  CONFAB_ASSIGN_OR_RETURN(Statement use,
                          db_->Prepare("UPDATE invites SET used_at = ?1 WHERE secret_hash = ?2"));
  use.BindInt64(1, now).BindBlob(2, secret_hash);
  CONFAB_RETURN_IF_ERROR(use.Run());
  CONFAB_RETURN_IF_ERROR(
      InsertAudit(now, m.name, AuditAction::kJoin, m.name,
                  "serial " + std::to_string(m.serial) + ", " + KeyActor(identity_key)));
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return m;
}

Result<uint64_t> Directory::AllocateSerial() {
  CONFAB_ASSIGN_OR_RETURN(
      Statement bump,
      db_->Prepare("UPDATE counters SET value = value + 1 WHERE name = 'certificate_serial' "
                   "RETURNING value"));
  CONFAB_ASSIGN_OR_RETURN(StepResult r, bump.Step());
  if (r != StepResult::kRow)
    return Status::Corruption("directory has no certificate serial counter");
  const int64_t serial = bump.ColumnInt64(0);
  CONFAB_RETURN_IF_ERROR(bump.Step().status());  // finish the UPDATE
  return static_cast<uint64_t>(serial);
}

Result<uint64_t> Directory::NextSerial() {
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(uint64_t serial, AllocateSerial());
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return serial;
}

Status Directory::Revoke(std::string_view name, int64_t now, std::string_view reason) {
  if (reason.empty())
    return Status::InvalidArgument("a revocation needs a reason");
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(Member m, GetMember(name));
  if (m.revoked)
    return Status::FailedPrecondition(QuoteName(name) + " is already revoked");
  CONFAB_ASSIGN_OR_RETURN(
      Statement mark,
      db_->Prepare("UPDATE members SET revoked_at = ?1, revoke_reason = ?2 WHERE name = ?3"));
  mark.BindInt64(1, now).BindText(2, reason).BindText(3, name);
  CONFAB_RETURN_IF_ERROR(mark.Run());
  CONFAB_ASSIGN_OR_RETURN(Statement list,
                          db_->Prepare("INSERT INTO revocations(serial, name, identity_key, "
                                       "revoked_at, reason) VALUES (?1, ?2, ?3, ?4, ?5)"));
  list.BindInt64(1, static_cast<int64_t>(m.serial))
      .BindText(2, name)
      .BindBlob(3, m.identity_key)
      .BindInt64(4, now)
      .BindText(5, reason);
  CONFAB_RETURN_IF_ERROR(list.Run());
  CONFAB_RETURN_IF_ERROR(
      InsertAudit(now, kOpsActor, AuditAction::kRevoke, name,
                  "serial " + std::to_string(m.serial) + ": " + std::string(reason)));
  return tx.Commit();
}

Status Directory::Reinstate(std::string_view name, int64_t now) {
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(Member m, GetMember(name));
  if (!m.revoked)
    return Status::FailedPrecondition(QuoteName(name) + " is not revoked");
  CONFAB_ASSIGN_OR_RETURN(Statement drop, db_->Prepare("DELETE FROM members WHERE name = ?1"));
  drop.BindText(1, name);
  CONFAB_RETURN_IF_ERROR(drop.Run());
  // Envelopes still held for the name were sealed to the revoked key: the
  // next holder of the name could not open them.
  CONFAB_ASSIGN_OR_RETURN(Statement mail, db_->Prepare("DELETE FROM mailbox WHERE recipient = ?1"));
  mail.BindText(1, name);
  CONFAB_RETURN_IF_ERROR(mail.Run());
  CONFAB_RETURN_IF_ERROR(
      InsertAudit(now, kOpsActor, AuditAction::kReinstate, name,
                  "name freed; serial " + std::to_string(m.serial) + " stays revoked"));
  return tx.Commit();
}

Result<Member> Directory::Renew(std::string_view name, int64_t now, std::string_view actor,
                                const IssueFn& issue) {
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(Member m, GetMember(name));
  CONFAB_RETURN_IF_ERROR(CheckRenewable(m));
  const uint64_t old_serial = m.serial;
  CONFAB_ASSIGN_OR_RETURN(m.serial, AllocateSerial());
  Result<Bytes> cert = issue(Issuance{m.name, m.identity_key, m.serial, now});
  if (!cert.ok())
    return cert.status().WithContext("issue certificate");
  m.certificate = std::move(cert).value();
  CONFAB_ASSIGN_OR_RETURN(
      Statement update,
      db_->Prepare("UPDATE members SET certificate = ?1, serial = ?2 WHERE name = ?3"));
  update.BindBlob(1, m.certificate).BindInt64(2, static_cast<int64_t>(m.serial)).BindText(3, name);
  CONFAB_RETURN_IF_ERROR(update.Run().WithContext("record the new certificate"));
  CONFAB_RETURN_IF_ERROR(
      InsertAudit(now, actor, AuditAction::kRenew, m.name, RenewDetail(old_serial, m.serial)));
  CONFAB_RETURN_IF_ERROR(tx.Commit());
  return m;
}

Result<bool> Directory::IsRevoked(std::string_view name) {
  CONFAB_ASSIGN_OR_RETURN(Member m, GetMember(name));
  return m.revoked;
}

Result<bool> Directory::IsKeyRevoked(ByteView identity_key) {
  CONFAB_ASSIGN_OR_RETURN(Statement st,
                          db_->Prepare("SELECT 1 FROM revocations WHERE identity_key = ?1"));
  st.BindBlob(1, identity_key);
  CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
  return r == StepResult::kRow;
}

Result<store::Statement*> Directory::Cached(std::unique_ptr<store::Statement>* slot,
                                            std::string_view sql) {
  if (*slot == nullptr) {
    CONFAB_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
    *slot = std::make_unique<Statement>(std::move(st));
  }
  (*slot)->Reset();
  return slot->get();
}

Result<Member> Directory::GetMember(std::string_view name) {
  CONFAB_ASSIGN_OR_RETURN(Statement * st,
                          Cached(&get_member_, "SELECT " + std::string(kMemberColumns) +
                                                   " FROM members WHERE name = ?1"));
  st->BindText(1, name);
  Result<Member> member = ReadOneMember(*st, QuoteName(name));
  st->Reset();  // ends the read now rather than at the next call
  return member;
}

Result<Member> Directory::GetMemberByNoiseKey(ByteView noise_key) {
  CONFAB_ASSIGN_OR_RETURN(
      Statement * st, Cached(&get_member_by_noise_key_, "SELECT " + std::string(kMemberColumns) +
                                                            " FROM members WHERE noise_key = ?1"));
  st->BindBlob(1, noise_key);
  Result<Member> member = ReadOneMember(*st, "with that Noise key");
  st->Reset();
  return member;
}

Result<Member> Directory::GetMemberByKey(ByteView identity_key) {
  CONFAB_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT " + std::string(kMemberColumns) +
                                                     " FROM members WHERE identity_key = ?1"));
  st.BindBlob(1, identity_key);
  return ReadOneMember(st, "with key " + ToHex(identity_key));
}

Result<std::vector<Member>> Directory::ListMembers() {
  CONFAB_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT " + std::string(kMemberColumns) +
                                                     " FROM members ORDER BY name"));
  std::vector<Member> members;
  for (;;) {
    CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
    if (r == StepResult::kDone)
      return members;
    members.push_back(ReadMember(st));
  }
}

Status Directory::AppendAudit(int64_t now, std::string_view actor, AuditAction action,
                              std::string_view subject, std::string_view detail) {
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_RETURN_IF_ERROR(InsertAudit(now, actor, action, subject, detail));
  return tx.Commit();
}

Status Directory::InsertAudit(int64_t now, std::string_view actor, AuditAction action,
                              std::string_view subject, std::string_view detail) {
  CONFAB_ASSIGN_OR_RETURN(Statement * st,
                          Cached(&insert_audit_,
                                 "INSERT INTO audit(time, actor, action, subject, detail) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5)"));
  st->BindInt64(1, now)
      .BindText(2, actor)
      .BindText(3, AuditActionName(action))
      .BindText(4, subject)
      .BindText(5, detail);
  Status ran = st->Run().WithContext("append audit");
  st->Reset();
  return ran;
}

Result<std::vector<AuditEntry>> Directory::ListAudit(size_t limit) {
  CONFAB_ASSIGN_OR_RETURN(Statement st,
                          db_->Prepare("SELECT id, time, actor, action, subject, detail FROM "
                                       "audit ORDER BY id DESC LIMIT ?1"));
  st.BindInt64(1, static_cast<int64_t>(std::min(limit, static_cast<size_t>(INT64_MAX))));
  std::vector<AuditEntry> entries;
  for (;;) {
    CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
    if (r == StepResult::kDone)
      return entries;
    AuditEntry e;
    e.id = st.ColumnInt64(0);
    e.time = st.ColumnInt64(1);
    e.actor = st.ColumnText(2);
    const std::string action = st.ColumnText(3);
    std::optional<AuditAction> known = AuditActionFromName(action);
    if (!known)
      return Status::Corruption("audit entry " + std::to_string(e.id) + " has unknown action " +
                                QuoteName(action));
    e.action = *known;
    e.subject = st.ColumnText(4);
    e.detail = st.ColumnText(5);
    entries.push_back(std::move(e));
  }
}

Status Directory::RecordLastSeen(std::string_view name, int64_t now) {
  CONFAB_ASSIGN_OR_RETURN(Statement st,
                          db_->Prepare("UPDATE members SET last_seen = ?1 WHERE name = ?2"));
  st.BindInt64(1, now).BindText(2, name);
  CONFAB_RETURN_IF_ERROR(st.Run());
  if (db_->changes() == 0)
    return Status::NotFound("no member " + QuoteName(name));
  return Status::Ok();
}

Status Directory::RecordLastSeen(const std::vector<std::pair<std::string, int64_t>>& seen) {
  if (seen.empty())
    return Status::Ok();
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(Statement st,
                          db_->Prepare("UPDATE members SET last_seen = ?1 WHERE name = ?2"));
  for (const auto& [name, time] : seen) {
    st.Reset();
    st.BindInt64(1, time).BindText(2, name);
    CONFAB_RETURN_IF_ERROR(st.Run());  // a revoked-and-reinstated name may be gone: fine
  }
  return tx.Commit();
}

Status Directory::AppendAudits(const std::vector<AuditEntry>& entries) {
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  for (const AuditEntry& e : entries) {
    CONFAB_RETURN_IF_ERROR(InsertAudit(e.time, e.actor, e.action, e.subject, e.detail));
  }
  return tx.Commit();
}

}  // namespace confab::tracker
