#include "common/store/statement.h"

#include <sqlite3.h>

#include <utility>

#include "common/store/sqlite_status.h"

namespace confab::store {

Statement::~Statement() {
  // sqlite3_finalize repeats the last step's error, which was already
  // reported by Step(); nothing more to say here.
  if (stmt_ != nullptr)
    sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_status_(std::move(other.bind_status_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr)
      sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

void Statement::NoteBind(int rc, int index) {
  if (rc != SQLITE_OK && bind_status_.ok())
    bind_status_ = FromSqlite(rc, db_, "bind parameter " + std::to_string(index));
}

Statement& Statement::BindInt64(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::BindText(int index, std::string_view value) {
  NoteBind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

Statement& Statement::BindBlob(int index, ByteView value) {
  // SQLite binds NULL when the data pointer is null, which an empty span's
  // may be; a zero-length blob needs a non-null pointer.
  static const uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  NoteBind(sqlite3_bind_blob64(stmt_, index, data, value.size(), SQLITE_TRANSIENT), index);
  return *this;
}

Statement& Statement::BindNull(int index) {
  NoteBind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Result<StepResult> Statement::Step() {
  if (!bind_status_.ok())
    return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return StepResult::kRow;
  if (rc == SQLITE_DONE)
    return StepResult::kDone;
  return FromSqlite(rc, db_, sqlite3_sql(stmt_));
}

Status Statement::Run() {
  CONFAB_ASSIGN_OR_RETURN(StepResult r, Step());
  if (r == StepResult::kRow)
    return Status::FailedPrecondition(std::string("statement returned a row: ") +
                                      sqlite3_sql(stmt_));
  return Status::Ok();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = Status::Ok();
}

int64_t Statement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);  // after _text, as SQLite asks
  if (text == nullptr)
    return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

Bytes Statement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (blob == nullptr)
    return {};
  const auto* p = static_cast<const uint8_t*>(blob);
  return Bytes(p, p + size);
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

}  // namespace confab::store
