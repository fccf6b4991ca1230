// Database: one SQLite connection to one file, opened the way confab needs
// every database opened (DESIGN.md, "On disk"):
//
//   - WAL journal, so readers never block the writer and a crash mid-write
//     leaves the last committed state;
//   - synchronous=FULL or NORMAL (Options::durability);
//   - foreign_keys=ON, which SQLite leaves off by default;
//   - a busy timeout, after which a locked database gives Unavailable;
//   - a new file is created with mode 0600 (SQLite gives its -wal and -shm
//     files the database file's mode). An existing file's mode is left alone;
//   - a symbolic link at the path is refused (IoError), so a planted link
//     cannot redirect the database elsewhere.
//
//   CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db,
//                           store::Database::Open(dir + "/directory.db", {}));
//
// Every failure is a Status mapped as sqlite_status.h documents; a file that
// is not an SQLite database gives Corruption when opened.
//
// A Database is not thread-safe: use it, and every Statement and Transaction
// made from it, from one thread at a time. It must outlive all of them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/base/status.h"
#include "common/store/statement.h"

struct sqlite3;

namespace confab::store {

enum class Durability {
  // synchronous=NORMAL: in WAL mode a power loss may drop the last commits
  // but never corrupts the file. Good for caches and soft state.
  kNormal,
  // synchronous=FULL: a commit that returned OK survives power loss. For
  // state that was promised to someone (an enrollment, an acknowledged message).
  kFull,
};

struct Options {
  Durability durability = Durability::kFull;
  // How long a statement waits for another connection's lock before it
  // fails with Unavailable.
  int busy_timeout_ms = 5000;
  // When false, a missing file is NotFound instead of a new empty database.
  bool create_if_missing = true;
};

class Database {
 public:
  // Opens (or creates) the database at `path` and applies the settings
  // above. NotFound when the file is missing and !create_if_missing,
  // Corruption when it is not a database, IoError when it cannot be opened.
  [[nodiscard]] static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                              const Options& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more ';'-separated statements that return no rows we need
  // (DDL, migrations, PRAGMAs that set).
  [[nodiscard]] Status Exec(std::string_view sql);

  // Compiles exactly one statement. InvalidArgument for bad SQL or for
  // trailing text after the first statement.
  [[nodiscard]] Result<Statement> Prepare(std::string_view sql);

  // Runs a query that yields one integer in its first row's first column
  // ("PRAGMA user_version", "SELECT count(*) ..."). NotFound if no row.
  [[nodiscard]] Result<int64_t> QueryInt64(std::string_view sql);

  // The rowid of the last successful INSERT on this connection.
  int64_t last_insert_rowid() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int64_t changes() const;
  // True while a transaction is open on this connection.
  bool in_transaction() const;
  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::string path_;
};

}  // namespace confab::store
