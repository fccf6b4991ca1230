#include "tests/unit/tracker/pg_server.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace confab::testing {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace

std::string PgServer::FindBinaries() {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("CONFAB_PG_BIN"))
    candidates.emplace_back(env);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    candidates.push_back(e.path().string() + "/bin");
  for (const auto& c : candidates)
    if (::access((c + "/initdb").c_str(), X_OK) == 0 &&
        ::access((c + "/pg_ctl").c_str(), X_OK) == 0)
      return c;
  return "";
}

std::unique_ptr<PgServer> PgServer::Start(const std::string& bin_dir, std::string* error) {
  std::unique_ptr<PgServer> s(new PgServer());
  s->bin_dir_ = bin_dir;
  std::string tmpl = (std::filesystem::temp_directory_path() / "confab-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    *error = "mkdtemp failed";
    return nullptr;
  }
  s->dir_ = tmpl;
  std::string prefix;
  if (::geteuid() == 0) {
    struct passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      *error = "running as root and there is no postgres user to run the server as";
      return nullptr;
    }
    if (::chown(s->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      *error = "chown of the temporary directory failed";
      return nullptr;
    }
    s->run_as_ = "postgres";
    prefix = "runuser -u postgres -- ";
  }
  const std::string data = s->dir_ + "/data";
  std::string initdb = prefix + Quote(bin_dir + "/initdb") + " -D " + Quote(data) +
                       " -A trust -U confab --no-sync -E UTF8 > " + Quote(s->dir_ + "/initdb.log") +
                       " 2>&1";
  if (std::system(initdb.c_str()) != 0) {
    *error = "initdb failed (see " + s->dir_ + "/initdb.log)";
    return nullptr;
  }
  std::string opts = "-c listen_addresses='' -c unix_socket_directories=" + s->dir_ +
                     " -c fsync=off -c max_connections=50";
  std::string start = prefix + Quote(bin_dir + "/pg_ctl") + " -D " + Quote(data) + " -w -t 60 -l " +
                      Quote(s->dir_ + "/server.log") + " -o " + Quote(opts) +
                      " start > /dev/null 2>&1";
  if (std::system(start.c_str()) != 0) {
    *error = "pg_ctl start failed (see " + s->dir_ + "/server.log)";
    return nullptr;
  }
  s->started_ = true;
  s->conninfo_ = "host=" + s->dir_ + " dbname=postgres user=confab";
  return s;
}

PgServer::~PgServer() {
  if (started_) {
    std::string prefix = run_as_.empty() ? "" : "runuser -u " + run_as_ + " -- ";
    std::string stop = prefix + Quote(bin_dir_ + "/pg_ctl") + " -D " + Quote(dir_ + "/data") +
                       " -m immediate -w stop > /dev/null 2>&1";
    (void)std::system(stop.c_str());
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace confab::testing
