// Transaction: BEGIN IMMEDIATE on construction, ROLLBACK on destruction
// unless Commit() succeeded. Every multi-statement change in confab goes
// through one, so a failure at any step (a constraint, a failed callback, an
// early return, a crash) leaves the database as it was before BEGIN.
//
//   CONFAB_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(db));
//   CONFAB_RETURN_IF_ERROR(insert.Run());   // on error, ~Transaction rolls back
//   return tx.Commit();
//
// IMMEDIATE takes the write lock at BEGIN, so two writers never both read
// and then fail to upgrade (SQLITE_BUSY mid-transaction); the second waits
// for busy_timeout at Begin() and then gets Unavailable.
//
// The Database must outlive the Transaction. Transactions do not nest.
#pragma once

#include "common/base/result.h"
#include "common/base/status.h"

namespace confab::store {

class Database;

class Transaction {
 public:
  // FailedPrecondition if a transaction is already open on `db`;
  // Unavailable if another connection holds the write lock past the timeout.
  [[nodiscard]] static Result<Transaction> Begin(Database& db);

  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Commits. On failure the transaction is still open and the destructor
  // rolls it back. FailedPrecondition if already committed.
  [[nodiscard]] Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}

  Database* db_;  // null once committed or moved from
};

}  // namespace confab::store
