// Maps SQLite result codes to confab::Status, so that no caller ever looks at
// an SQLite integer. The mapping, by primary result code:
//
//   SQLITE_BUSY, SQLITE_LOCKED, SQLITE_SCHEMA, SQLITE_INTERRUPT -> Unavailable
//       (another connection holds the lock past busy_timeout; retry later)
//   SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_FORMAT               -> Corruption
//   SQLITE_CONSTRAINT with _UNIQUE, _PRIMARYKEY, _FOREIGNKEY,
//       _TRIGGER (RAISE(ABORT) in our own triggers)           -> FailedPrecondition
//       (the row is well formed but conflicts with what is stored)
//   SQLITE_CONSTRAINT otherwise (_CHECK, _NOTNULL, _DATATYPE)  -> InvalidArgument
//       (the row itself is malformed)
//   SQLITE_NOMEM, SQLITE_FULL, SQLITE_TOOBIG                   -> ResourceExhausted
//   SQLITE_PERM, SQLITE_AUTH                                   -> PermissionDenied
//   SQLITE_ERROR, SQLITE_MISUSE, SQLITE_RANGE, SQLITE_MISMATCH -> InvalidArgument
//       (bad SQL or a bad binding: a bug in the caller)
//   anything else (SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY, ...) -> IoError
//
// The message is "<what>: <sqlite's message> [sqlite <extended code>]".
#pragma once

#include <string_view>

#include "common/base/status.h"

struct sqlite3;

namespace confab::store {

// `rc` is an SQLite result code (extended or primary); SQLITE_OK, SQLITE_ROW
// and SQLITE_DONE give OK. `db` may be null; when it is not, its current error
// message (sqlite3_errmsg) is used, so call this right after the failing call.
Status FromSqlite(int rc, sqlite3* db, std::string_view what);

// Same mapping with an explicit message (for sqlite3_exec's error string).
Status FromSqliteMessage(int rc, std::string_view message, std::string_view what);

}  // namespace confab::store
