// Statement: one prepared SQLite statement, finalized when destroyed.
//
//   CONFAB_ASSIGN_OR_RETURN(store::Statement st,
//                           db.Prepare("SELECT serial FROM members WHERE name = ?1"));
//   st.BindText(1, name);
//   CONFAB_ASSIGN_OR_RETURN(store::StepResult r, st.Step());
//   if (r == store::StepResult::kDone) return Status::NotFound(name);
//   int64_t serial = st.ColumnInt64(0);
//
// Parameters are numbered from 1, as SQLite numbers `?1`; result columns are
// numbered from 0, as SQLite does. Binding never fails on its own: the first
// bind error (an index out of range, a blob too big) is kept and returned by
// the next Step() or Run(), so a sequence of binds needs no checks in between.
//
// A Statement borrows its Database's connection: the Database must outlive
// every Statement prepared on it. Not thread-safe; use it from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace confab::store {

enum class StepResult {
  kRow,   // a result row is ready for the Column* getters
  kDone,  // the statement ran to completion; Reset() before running it again
};

class Statement {
 public:
  // Use Database::Prepare.
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Each returns *this so binds can be chained. `index` starts at 1. Text and
  // blobs are copied, so the argument need not outlive the call. An empty
  // blob binds a zero-length blob, not NULL.
  Statement& BindInt64(int index, int64_t value);
  Statement& BindText(int index, std::string_view value);
  Statement& BindBlob(int index, ByteView value);
  Statement& BindNull(int index);

  // Runs one step. Returns kRow when a row is ready, kDone at the end, or the
  // mapped SQLite error (see sqlite_status.h), or a pending bind error.
  [[nodiscard]] Result<StepResult> Step();
  // Steps to completion for a statement that returns no rows (INSERT, UPDATE,
  // DELETE, DDL). FailedPrecondition if it yields a row.
  [[nodiscard]] Status Run();
  // Makes the statement ready to run again and clears every binding.
  void Reset();

  // Valid only after Step() returned kRow. `column` starts at 0. NULL reads
  // as 0, "" or an empty blob; use ColumnIsNull to tell them apart.
  int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;
  Bytes ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const;

 private:
  void NoteBind(int rc, int index);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status bind_status_;  // the first bind failure since the last Reset()
};

}  // namespace confab::store
