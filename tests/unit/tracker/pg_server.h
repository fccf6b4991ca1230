// PgServer: a real PostgreSQL server for one test, from Debian's binaries
// (/usr/lib/postgresql/<n>/bin, or CONFAB_PG_BIN). initdb into a temporary
// directory, listening only on a Unix socket in that directory (no TCP),
// stopped and removed by the destructor. When the test runs as root the
// server runs as the `postgres` user (initdb refuses root), through runuser.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>

namespace confab::testing {

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

class PgServer {
 public:
  // The directory holding initdb and pg_ctl, or "" if there is none (the
  // test then skips).
  static std::string FindBinaries();

  // Starts a server; `error` says why not if it returns null.
  static std::unique_ptr<PgServer> Start(const std::string& bin_dir, std::string* error);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // A libpq connection string for database "postgres" as the superuser.
  const std::string& conninfo() const { return conninfo_; }
  // The same for database `dbname`.
  std::string ConninfoFor(const std::string& dbname) const;
  // A new connection (check PQstatus).
  PgConn Connect() const { return PgConn(PQconnectdb(conninfo_.c_str())); }

  // Stops the server (every connection is closed) and starts it again on
  // the same data and socket: what a restart looks like to a tracker.
  // False if either step failed.
  bool Stop();
  bool StartAgain();

 private:
  PgServer() = default;
  std::string bin_dir_;
  std::string dir_;
  std::string run_as_;  // "" or "postgres"
  std::string Prefix() const;
  bool RunPgCtl(const std::string& action);

  std::string conninfo_;
  std::string opts_;
  bool started_ = false;
};

}  // namespace confab::testing
