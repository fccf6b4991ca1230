#include "peer/contacts/directory_cache.h"

#include "common/base/member_name.h"
#include "common/base/proto_bytes.h"
#include "common/store/statement.h"
#include "common/store/transaction.h"

namespace confab::peer {

Result<std::unique_ptr<DirectoryCache>> DirectoryCache::Open(store::Database* db) {
  if (db == nullptr)
    return Status::InvalidArgument("DirectoryCache needs a database");
  return std::unique_ptr<DirectoryCache>(new DirectoryCache(db));
}

Status DirectoryCache::Remember(std::string_view name, const proto::LookupResult& found,
                                int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  if (!found.found())
    return Status::InvalidArgument("only a found lookup answer is kept");
  proto::LookupResult kept = found;
  kept.clear_request_id();
  kept.clear_presence();  // soft state: stale at once
  const Bytes bytes = SerializeToBytes(kept);
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement put,
      db_->Prepare("INSERT INTO directory_cache (name, lookup, updated_ms) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (name) DO UPDATE SET lookup = ?2, updated_ms = ?3"));
  put.BindText(1, name).BindBlob(2, bytes).BindInt64(3, now_ms);
  return put.Run();
}

Result<std::optional<proto::LookupResult>> DirectoryCache::Recall(std::string_view name) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  CONFAB_ASSIGN_OR_RETURN(store::Statement get,
                          db_->Prepare("SELECT lookup FROM directory_cache WHERE name = ?1"));
  get.BindText(1, name);
  CONFAB_ASSIGN_OR_RETURN(store::StepResult step, get.Step());
  if (step == store::StepResult::kDone)
    return std::optional<proto::LookupResult>();
  const Bytes bytes = get.ColumnBlob(0);
  proto::LookupResult kept;
  if (!ParseFromBytes(bytes, &kept))
    return Status::Corruption("a kept lookup answer for " + std::string(name) + " does not parse");
  return std::optional<proto::LookupResult>(std::move(kept));
}

Status DirectoryCache::RecordRevocation(std::string_view name, ByteView identity_key,
                                        int64_t now_ms) {
  CONFAB_RETURN_IF_ERROR(ValidateMemberName(name));
  if (identity_key.size() != 32)
    return Status::InvalidArgument("an identity key is 32 bytes");
  CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(*db_));
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement add,
      db_->Prepare("INSERT INTO revoked_keys (identity_key, name, revoked_ms) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (identity_key) DO NOTHING"));
  add.BindBlob(1, identity_key).BindText(2, name).BindInt64(3, now_ms);
  CONFAB_RETURN_IF_ERROR(add.Run());
  CONFAB_ASSIGN_OR_RETURN(store::Statement forget,
                          db_->Prepare("DELETE FROM directory_cache WHERE name = ?1"));
  forget.BindText(1, name);
  CONFAB_RETURN_IF_ERROR(forget.Run());
  return tx.Commit();
}

Result<std::vector<RevokedKey>> DirectoryCache::RevokedKeys() {
  CONFAB_ASSIGN_OR_RETURN(
      store::Statement all,
      db_->Prepare("SELECT name, identity_key, revoked_ms FROM revoked_keys ORDER BY revoked_ms"));
  std::vector<RevokedKey> keys;
  for (;;) {
    CONFAB_ASSIGN_OR_RETURN(store::StepResult step, all.Step());
    if (step == store::StepResult::kDone)
      return keys;
    keys.push_back({all.ColumnText(0), all.ColumnBlob(1), all.ColumnInt64(2)});
  }
}

}  // namespace confab::peer
