#include "peer/contacts/contact_book.h"

#include "common/base/member_name.h"
#include "common/crypto/sodium.h"

namespace confab::peer {
namespace {

#define CONFAB_CONTACT_COLUMNS \
  "name, identity_key, pinned_at, verified, blocked, pending_key, pending_at"

Contact ReadContact(const store::Statement& st) {
  Contact c;
  c.name = st.ColumnText(0);
  c.identity_key = st.ColumnBlob(1);
  c.pinned_at = st.ColumnInt64(2);
  c.verified = st.ColumnInt64(3) != 0;
  c.blocked = st.ColumnInt64(4) != 0;
  c.pending_key = st.ColumnBlob(5);
  c.pending_at = st.ColumnInt64(6);
  return c;
}

Status CheckKey(ByteView key) {
  if (key.size() != kContactKeyBytes)
    return Status::InvalidArgument("an identity key is 32 bytes");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ContactBook>> ContactBook::Open(store::Database* db) {
  if (db == nullptr)
    return Status::InvalidArgument("ContactBook needs a database");
  return std::unique_ptr<ContactBook>(new ContactBook(db));
}

Result<PinOutcome> ContactBook::PinOnFirstContact(std::string_view name, ByteView key,
                                                  int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  CONFAB_RETURN_IF_ERROR(CheckKey(key));
  // Pins only where nothing is pinned yet; a row that exists without a key
  // (blocked before first contact) keeps its flags. One statement, so
  // atomic without a transaction.
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement pin,
      db_->Prepare("INSERT INTO contacts (name, identity_key, pinned_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (name) DO UPDATE SET identity_key = ?2, pinned_at = ?3 "
                   "WHERE identity_key IS NULL"));
  pin.BindText(1, name).BindBlob(2, key).BindInt64(3, now_ms);
  CONFAB_RETURN_IF_ERROR(pin.Run());
  if (db_->changes() == 1)
    return PinOutcome::kPinned;
  CONFAB_RETURN_IF_ERROR(CheckPin(name, key, now_ms));
  return PinOutcome::kMatches;
}

Status ContactBook::CheckPin(std::string_view name, ByteView key, int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  CONFAB_RETURN_IF_ERROR(CheckKey(key));
  CONFAB_ASSIGN_OR_RETURN(Contact c, Get(name));
  if (c.identity_key.empty())
    return Status::NotFound("no key is pinned for " + std::string(name));
  if (crypto::ConstantTimeEqual(c.identity_key, key))
    return Status::Ok();
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement pending,
      db_->Prepare("UPDATE contacts SET pending_key = ?2, pending_at = ?3 WHERE name = ?1"));
  pending.BindText(1, name).BindBlob(2, key).BindInt64(3, now_ms);
  CONFAB_RETURN_IF_ERROR(pending.Run());
  return Status::AuthFailed(std::string(name) +
                            "'s identity key has CHANGED since it was pinned; refusing it until "
                            "the change is accepted (confab verify " +
                            std::string(name) + ")");
}

Status ContactBook::AcceptKeyChange(std::string_view name, int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement accept,
      db_->Prepare("UPDATE contacts SET identity_key = pending_key, pinned_at = ?2, verified = 0, "
                   "pending_key = NULL, pending_at = 0 WHERE name = ?1 AND pending_key IS NOT "
                   "NULL"));
  accept.BindText(1, name).BindInt64(2, now_ms);
  CONFAB_RETURN_IF_ERROR(accept.Run());
  if (db_->changes() != 1)
    return Status::FailedPrecondition("no key change is pending for " + std::string(name));
  return Status::Ok();
}

Status ContactBook::SetBlocked(std::string_view name, bool blocked) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("INSERT INTO contacts (name, blocked) VALUES (?1, ?2) "
                                       "ON CONFLICT (name) DO UPDATE SET blocked = ?2"));
  st.BindText(1, name).BindInt64(2, blocked ? 1 : 0);
  return st.Run();
}

Status ContactBook::Block(std::string_view name) {
  return SetBlocked(name, true);
}

Status ContactBook::Unblock(std::string_view name) {
  return SetBlocked(name, false);
}

Result<bool> ContactBook::IsBlocked(std::string_view name) {
  Result<Contact> c = Get(name);
  if (!c.ok())
    return c.status().code() == Status::Code::kNotFound ? Result<bool>(false) : c.status();
  return c->blocked;
}

Status ContactBook::MarkVerified(std::string_view name) {
  CONFAB_ASSIGN_OR_RETURN(Contact c, Get(name));
  if (c.identity_key.empty())
    return Status::NotFound("no key is pinned for " + std::string(name));
  if (!c.pending_key.empty())
    return Status::FailedPrecondition(std::string(name) +
                                      "'s key changed; accept or refuse the change first");
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("UPDATE contacts SET verified = 1 WHERE name = ?1"));
  st.BindText(1, name);
  return st.Run();
}

Result<Contact> ContactBook::Get(std::string_view name) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  CONFAB_ASSIGN_OR_RETURN(store::Statement st, db_->Prepare("SELECT " CONFAB_CONTACT_COLUMNS
                                                            " FROM contacts WHERE name = ?1"));
  st.BindText(1, name);
  CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
  if (step == store::StepResult::kDone)
    return Status::NotFound("no contact named " + std::string(name));
  return ReadContact(st);
}

Result<std::vector<Contact>> ContactBook::List() {
  CONFAB_ASSIGN_OR_RETURN(store::Statement st, db_->Prepare("SELECT " CONFAB_CONTACT_COLUMNS
                                                            " FROM contacts ORDER BY name"));
  std::vector<Contact> out;
  while (true) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, st.Step());
    if (step == store::StepResult::kDone)
      return out;
    out.push_back(ReadContact(st));
  }
}

Status ContactBook::Remove(std::string_view name) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  CONFAB_ASSIGN_OR_RETURN(store::Statement st,
                          db_->Prepare("DELETE FROM contacts WHERE name = ?1"));
  st.BindText(1, name);
  CONFAB_RETURN_IF_ERROR(st.Run());
  if (db_->changes() != 1)
    return Status::NotFound("no contact named " + std::string(name));
  return Status::Ok();
}

}  // namespace confab::peer
