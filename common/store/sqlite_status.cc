#include "common/store/sqlite_status.h"

#include <sqlite3.h>

#include <string>

namespace confab::store {

Status FromSqliteMessage(int rc, std::string_view message, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE)
    return Status::Ok();
  std::string msg(what);
  msg += ": ";
  msg += message.empty() ? std::string_view(sqlite3_errstr(rc)) : message;
  msg += " [sqlite ";
  msg += std::to_string(rc);
  msg += "]";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_SCHEMA:
    case SQLITE_INTERRUPT:
      return Status::Unavailable(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return Status::Corruption(msg);
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_FOREIGNKEY:
        case SQLITE_CONSTRAINT_TRIGGER:
          return Status::FailedPrecondition(msg);
        default:
          return Status::InvalidArgument(msg);
      }
    case SQLITE_NOMEM:
    case SQLITE_FULL:
    case SQLITE_TOOBIG:
      return Status::ResourceExhausted(msg);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::PermissionDenied(msg);
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return Status::InvalidArgument(msg);
    default:
      return Status::IoError(msg);
  }
}

Status FromSqlite(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE)
    return Status::Ok();
  // sqlite3_errmsg describes the most recent failure on `db`; for a misuse
  // (or a null handle) the generic text for the code is all there is.
  std::string_view message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return FromSqliteMessage(rc, message, what);
}

}  // namespace confab::store
