#include "tracker/pg_listener.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <utility>

namespace confab::tracker {
namespace {

// libpq prints server notices (and a FATAL that ends the session outside a
// query) on stderr by default; the tracker's log is the place for them.
void LogNotice(void* /*arg*/, const char* message) {
  std::string m = message != nullptr ? message : "";
  while (!m.empty() && m.back() == '\n')
    m.pop_back();
  spdlog::warn("postgresql: {}", m);
}

std::string Trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 63)
    return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok)
      return false;
  }
  return !(name[0] >= '0' && name[0] <= '9');
}

}  // namespace

Result<std::unique_ptr<PgListener>> PgListener::Start(net::Loop& loop, const std::string& url,
                                                      std::vector<std::string> channels,
                                                      Delegate* delegate, uint64_t retry_ms) {
  for (const std::string& c : channels)
    if (!IsIdentifier(c))
      return Status::InvalidArgument("'" + c +
                                     "' is not a channel name (lower-case letters, digits, _)");
  std::unique_ptr<PgListener> listener(
      new PgListener(loop, url, std::move(channels), delegate, retry_ms));
  CONFAB_ASSIGN_OR_RETURN(listener->retry_, net::Timer::Create(loop, listener.get()));
  CONFAB_RETURN_IF_ERROR(listener->Connect());
  return listener;
}

PgListener::PgListener(net::Loop& loop, std::string url, std::vector<std::string> channels,
                       Delegate* delegate, uint64_t retry_ms)
    : loop_(loop),
      url_(std::move(url)),
      channels_(std::move(channels)),
      delegate_(delegate),
      retry_ms_(retry_ms) {}

PgListener::~PgListener() {
  *alive_ = false;
  Close();
}

void PgListener::Close() {
  closed_ = true;
  poller_.reset();  // before the socket it polls is closed
  if (retry_)
    retry_->Close();
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

Status PgListener::Connect() {
  pg_conn* conn = PQconnectdb(url_.c_str());
  if (conn == nullptr)
    return Status::ResourceExhausted("postgresql: out of memory");
  PQsetNoticeProcessor(conn, &LogNotice, nullptr);
  if (PQstatus(conn) != CONNECTION_OK) {
    Status s = Status::Unavailable("postgresql: cannot connect: " + Trimmed(PQerrorMessage(conn)));
    PQfinish(conn);
    return s;
  }
  for (const std::string& channel : channels_) {
    // A checked identifier (IsIdentifier), so it can be part of the SQL:
    // LISTEN takes no parameters.
    PGresult* r = PQexec(conn, ("LISTEN " + channel).c_str());
    const bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
      Status s = Status::Unavailable("postgresql: LISTEN " + channel + ": " +
                                     Trimmed(PQerrorMessage(conn)));
      PQfinish(conn);
      return s;
    }
  }
  if (PQsetnonblocking(conn, 1) != 0) {
    PQfinish(conn);
    return Status::Unavailable("postgresql: cannot make the connection non-blocking");
  }
  auto poller = net::FdPoller::Create(loop_, PQsocket(conn), this);
  if (!poller.ok()) {
    PQfinish(conn);
    return poller.status();
  }
  conn_ = conn;
  poller_ = std::move(poller).value();
  return Status::Ok();
}

void PgListener::Lose(const Status& why) {
  poller_.reset();
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  (void)retry_->Start(retry_ms_);
  delegate_->OnListenLost(why);  // last: it may destroy the listener
}

void PgListener::OnReadable() {
  if (conn_ == nullptr)
    return;
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
    Lose(Status::Unavailable("postgresql: notification connection lost: " +
                             Trimmed(PQerrorMessage(conn_))));
    return;
  }
  // Everything the server sent, drained before any upcall.
  std::vector<std::pair<std::string, std::string>> notes;
  while (PGnotify* n = PQnotifies(conn_)) {
    notes.emplace_back(n->relname, n->extra != nullptr ? n->extra : "");
    PQfreemem(n);
  }
  std::shared_ptr<bool> alive = alive_;
  for (const auto& [channel, payload] : notes) {
    delegate_->OnNotification(channel, payload);
    if (!*alive || closed_)
      return;  // destroyed or closed by the delegate
  }
}

void PgListener::OnTimer() {
  if (closed_)
    return;
  Status connected = Connect();
  if (!connected.ok()) {
    (void)retry_->Start(retry_ms_);
    return;
  }
  ++reconnects_;
  delegate_->OnListening();  // last
}

}  // namespace confab::tracker
