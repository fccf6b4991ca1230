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
  s->opts_ = "-c listen_addresses='' -c unix_socket_directories=" + s->dir_ +
             " -c fsync=off -c max_connections=50";
  if (!s->RunPgCtl("start")) {
    *error = "pg_ctl start failed (see " + s->dir_ + "/server.log)";
    return nullptr;
  }
  s->started_ = true;
  s->conninfo_ = "host=" + s->dir_ + " dbname=postgres user=confab";
  return s;
}

std::string PgServer::ConninfoFor(const std::string& dbname) const {
  return "host=" + dir_ + " dbname=" + dbname + " user=confab";
}

std::string PgServer::Prefix() const {
  return run_as_.empty() ? "" : "runuser -u " + run_as_ + " -- ";
}

bool PgServer::RunPgCtl(const std::string& action) {
  std::string cmd = Prefix() + Quote(bin_dir_ + "/pg_ctl") + " -D " + Quote(dir_ + "/data");
  if (action == "start")
    cmd += " -w -t 60 -l " + Quote(dir_ + "/server.log") + " -o " + Quote(opts_) + " start";
  else
    cmd += " -m " + action + " -w stop";
  return std::system((cmd + " > /dev/null 2>&1").c_str()) == 0;
}

bool PgServer::Stop() {
  if (!started_)
    return true;
  started_ = !RunPgCtl("fast");
  return !started_;
}

bool PgServer::StartAgain() {
  started_ = RunPgCtl("start");
  return started_;
}

PgServer::~PgServer() {
  if (started_)
    (void)RunPgCtl("immediate");
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace confab::testing
