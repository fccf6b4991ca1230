#include "common/store/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/store/sqlite_status.h"

namespace confab::store {
namespace {

// Creates `path` with mode 0600 if it does not exist, so SQLite (which would
// use 0644 less the umask) never creates it world-readable. O_EXCL makes
// this a no-op for a file that is already there.
Status CreatePrivateFile(const std::string& path, bool create_if_missing) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0)
    return Status::Ok();
  if (errno != ENOENT)
    return Status::IoError("stat " + path + ": " + std::strerror(errno));
  if (!create_if_missing)
    return Status::NotFound("database " + path + " does not exist");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST)
    return Status::IoError("create " + path + ": " + std::strerror(errno));
  if (fd >= 0)
    ::close(fd);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, const Options& options) {
  CONFAB_RETURN_IF_ERROR(CreatePrivateFile(path, options.create_if_missing));

  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure; the Database owns it
  // from here so every path below closes it.
  std::unique_ptr<Database> db(new Database(raw, path));
  if (raw == nullptr)
    return Status::ResourceExhausted("open " + path + ": out of memory");
  if (rc != SQLITE_OK)
    return FromSqlite(rc, raw, "open " + path);
  sqlite3_extended_result_codes(raw, 1);
  rc = sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  if (rc != SQLITE_OK)
    return FromSqlite(rc, raw, "busy_timeout " + path);

  // SQLite reads the header lazily: the first statement is where a file
  // that is not a database (or is damaged) is noticed.
  Status s = db->Exec("SELECT count(*) FROM sqlite_schema");
  if (!s.ok())
    return s.WithContext("open " + path);
  // journal_mode answers with the mode in effect; anything but "wal" (a
  // read-only medium, say) would silently weaken the crash guarantees.
  {
    CONFAB_ASSIGN_OR_RETURN(Statement st, db->Prepare("PRAGMA journal_mode=WAL"));
    CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
    if (r != StepResult::kRow || st.ColumnText(0) != "wal")
      return Status::IoError("open " + path + ": cannot switch to WAL journal mode");
  }
  const char* sync = options.durability == Durability::kFull ? "PRAGMA synchronous=FULL"
                                                             : "PRAGMA synchronous=NORMAL";
  CONFAB_RETURN_IF_ERROR(db->Exec(sync).WithContext("open " + path));
  CONFAB_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON").WithContext("open " + path));
  return db;
}

Database::~Database() {
  // Statements must already be finalized (they may not outlive us), so
  // sqlite3_close succeeds; _v2 defers rather than leaks if one is not.
  if (db_ != nullptr)
    sqlite3_close_v2(db_);
}

Status Database::Exec(std::string_view sql) {
  std::string text(sql);  // sqlite3_exec needs a terminated string
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  Status s;
  if (rc != SQLITE_OK)
    s = FromSqliteMessage(rc, err != nullptr ? err : "", "exec");
  sqlite3_free(err);
  return s;
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, &tail);
  if (rc != SQLITE_OK) {
    Status s = FromSqlite(rc, db_, "prepare \"" + std::string(sql) + "\"");
    sqlite3_finalize(stmt);
    return s;
  }
  Statement st(db_, stmt);
  if (stmt == nullptr)
    return Status::InvalidArgument("prepare: no statement in \"" + std::string(sql) + "\"");
  std::string_view rest(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos)
    return Status::InvalidArgument("prepare: more than one statement in \"" + std::string(sql) +
                                   "\"");
  return st;
}

Result<int64_t> Database::QueryInt64(std::string_view sql) {
  CONFAB_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
  CONFAB_ASSIGN_OR_RETURN(StepResult r, st.Step());
  if (r != StepResult::kRow)
    return Status::NotFound("no row from \"" + std::string(sql) + "\"");
  return st.ColumnInt64(0);
}

int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int64_t Database::changes() const {
  return sqlite3_changes64(db_);
}

bool Database::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

}  // namespace confab::store
