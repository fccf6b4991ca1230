#include "common/store/transaction.h"

#include <utility>

#include "common/store/database.h"

namespace confab::store {

Result<Transaction> Transaction::Begin(Database& db) {
  if (db.in_transaction())
    return Status::FailedPrecondition("begin: a transaction is already open on " + db.path());
  CONFAB_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE").WithContext("begin"));
  return Transaction(&db);
}

Transaction::~Transaction() {
  // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR,
  // SQLITE_NOMEM); a second ROLLBACK would only fail, so ask first. A failed
  // rollback cannot be reported from a destructor, and SQLite then rolls
  // back when the connection closes or the journal is next recovered.
  if (db_ != nullptr && db_->in_transaction())
    (void)db_->Exec("ROLLBACK");
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Status Transaction::Commit() {
  if (db_ == nullptr)
    return Status::FailedPrecondition("commit: transaction is not open");
  CONFAB_RETURN_IF_ERROR(db_->Exec("COMMIT").WithContext("commit"));
  db_ = nullptr;
  return Status::Ok();
}

}  // namespace confab::store
