#include "common/store/migration.h"

#include <string>

#include "common/store/database.h"
#include "common/store/transaction.h"

namespace confab::store {

Status Migrate(Database& db, std::span<const std::string_view> scripts) {
  const auto target = static_cast<int64_t>(scripts.size());
  // Read the version inside the write transaction, so two processes
  // migrating at once cannot both apply the same script.
  CONFAB_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db));
  CONFAB_ASSIGN_OR_RETURN(int64_t version, db.QueryInt64("PRAGMA user_version"));
  if (version > target) {
    return Status::FailedPrecondition(
        db.path() + " has schema version " + std::to_string(version) +
        ", newer than this program understands (" + std::to_string(target) +
        "); it was written by a later confab: upgrade instead of opening it with this one");
  }
  if (version < 0)
    return Status::Corruption(db.path() + " has a negative schema version " +
                              std::to_string(version));
  if (version == target)
    return Status::Ok();  // nothing to do; ~Transaction rolls back the empty tx
  for (int64_t v = version; v < target; ++v) {
    Status s = db.Exec(scripts[static_cast<size_t>(v)]);
    if (!s.ok())
      return s.WithContext(db.path() + ": migration to schema version " + std::to_string(v + 1));
  }
  // PRAGMA takes no bound parameters; `target` is our own integer.
  CONFAB_RETURN_IF_ERROR(db.Exec("PRAGMA user_version=" + std::to_string(target)));
  return tx.Commit();
}

}  // namespace confab::store
