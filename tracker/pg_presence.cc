#include "tracker/pg_presence.h"

#include <libpq-fe.h>

#include <cstring>
#include <utility>

#include "common/crypto/sodium.h"

namespace confab::tracker {
namespace {

std::string Trimmed(const char* msg) {
  std::string s = msg != nullptr ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

struct StatementText {
  const char* name;
  const char* sql;
};

constexpr StatementText kStatements[] = {
    {"register",
     "INSERT INTO trackers(id, address, started_at, heartbeat_at) VALUES ($1, $2, $3, $3) "
     "ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at"},
    {"heartbeat",
     "INSERT INTO trackers(id, address, started_at, heartbeat_at) VALUES ($1, $2, $3, $4) "
     "ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at"},
    {"sweep", "DELETE FROM trackers WHERE heartbeat_at < $1 AND id <> $2"},
    {"unregister", "DELETE FROM trackers WHERE id = $1"},
    {"publish",
     "INSERT INTO presence(name, tracker_id, status, text, endpoints, updated_at) "
     "VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6) ON CONFLICT (name) DO UPDATE SET "
     "tracker_id = EXCLUDED.tracker_id, status = EXCLUDED.status, text = EXCLUDED.text, "
     "endpoints = EXCLUDED.endpoints, updated_at = EXCLUDED.updated_at"},
    {"withdraw", "DELETE FROM presence WHERE name = $1 AND tracker_id = $2"},
    {"punch", "SELECT pg_notify('confab_punch', $1)"},  // kPgPunchChannel
    {"read",
     "SELECT tracker_id, status, text, encode(endpoints, 'hex'), name FROM presence "
     "WHERE name = $1"},
    {"read_others",
     "SELECT tracker_id, status, text, encode(endpoints, 'hex'), name FROM presence "
     "WHERE tracker_id <> $1"},
};

}  // namespace

Result<std::unique_ptr<PgPresence>> PgPresence::Open(const std::string& url, std::string address) {
  pg_conn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr)
    return Status::ResourceExhausted("postgresql: out of memory");
  Bytes raw(8);
  crypto::RandomBytes(raw);
  std::unique_ptr<PgPresence> p(new PgPresence(conn, ToHex(raw), std::move(address)));
  if (PQstatus(conn) != CONNECTION_OK)
    return Status::Unavailable("postgresql: cannot connect: " + Trimmed(PQerrorMessage(conn)));
  CONFAB_RETURN_IF_ERROR(p->Prepare());
  return p;
}

PgPresence::PgPresence(pg_conn* conn, std::string id, std::string address)
    : conn_(conn), id_(std::move(id)), address_(std::move(address)) {}

PgPresence::~PgPresence() {
  PQfinish(conn_);
}

Status PgPresence::Prepare() {
  for (const StatementText& st : kStatements) {
    PGresult* r = PQprepare(conn_, st.name, st.sql, 0, nullptr);
    const bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
      return Status::Unavailable(std::string("postgresql: prepare ") + st.name + ": " +
                                 Trimmed(PQerrorMessage(conn_)));
  }
  return Status::Ok();
}

Status PgPresence::Exec(const char* stmt, const std::vector<std::string>& params, int* rows,
                        pg_result** out) {
  if (PQstatus(conn_) != CONNECTION_OK) {
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK)
      return Status::Unavailable("postgresql: " + Trimmed(PQerrorMessage(conn_)));
    CONFAB_RETURN_IF_ERROR(Prepare());
  }
  std::vector<const char*> values;
  for (const std::string& p : params)
    values.push_back(p.c_str());
  PGresult* r = PQexecPrepared(conn_, stmt, static_cast<int>(values.size()), values.data(), nullptr,
                               nullptr, 0);
  ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Status s = Status::Unavailable(std::string("postgresql: ") + stmt + ": " +
                                   Trimmed(PQerrorMessage(conn_)));
    PQclear(r);
    return s;
  }
  if (rows != nullptr)
    *rows = std::atoi(PQcmdTuples(r));
  if (out != nullptr)
    *out = r;
  else
    PQclear(r);
  return Status::Ok();
}

Status PgPresence::Register(int64_t now) {
  started_at_ = now;
  return Exec("register", {id_, address_, std::to_string(now)});
}

Result<int> PgPresence::Heartbeat(int64_t now, int64_t dead_after_seconds) {
  CONFAB_RETURN_IF_ERROR(
      Exec("heartbeat", {id_, address_, std::to_string(started_at_), std::to_string(now)}));
  int removed = 0;
  CONFAB_RETURN_IF_ERROR(Exec("sweep", {std::to_string(now - dead_after_seconds), id_}, &removed));
  return removed;
}

Status PgPresence::Unregister() {
  return Exec("unregister", {id_});
}

Status PgPresence::Publish(const SharedPresence& p, int64_t now) {
  proto::Announce endpoints;
  for (const proto::Endpoint& e : p.endpoints)
    *endpoints.add_endpoints() = e;
  std::string bytes = endpoints.SerializeAsString();
  return Exec("publish", {p.name, id_, std::to_string(static_cast<int>(p.status)), p.text,
                          ToHex(AsBytes(bytes)), std::to_string(now)});
}

Status PgPresence::Withdraw(std::string_view name) {
  return Exec("withdraw", {std::string(name), id_});
}

Status PgPresence::RequestPunch(const ClusterPunch& p) {
  return Exec("punch", {PunchPayload(p)});
}

namespace {

SharedPresence RowAt(const PGresult* r, int row) {
  SharedPresence p;
  p.tracker_id = PQgetvalue(r, row, 0);
  const int status = std::atoi(PQgetvalue(r, row, 1));
  p.status = proto::PresenceStatus_IsValid(status) ? static_cast<proto::PresenceStatus>(status)
                                                   : proto::PRESENCE_OFFLINE;
  p.text = PQgetvalue(r, row, 2);
  auto raw = FromHex(PQgetvalue(r, row, 3));
  proto::Announce endpoints;
  if (raw.ok() && endpoints.ParseFromArray(raw->data(), static_cast<int>(raw->size())))
    p.endpoints.assign(endpoints.endpoints().begin(), endpoints.endpoints().end());
  p.name = PQgetvalue(r, row, 4);
  return p;
}

}  // namespace

Result<std::optional<SharedPresence>> PgPresence::Read(std::string_view name) {
  pg_result* r = nullptr;
  CONFAB_RETURN_IF_ERROR(Exec("read", {std::string(name)}, nullptr, &r));
  std::optional<SharedPresence> out;
  if (PQntuples(r) == 1)
    out = RowAt(r, 0);
  PQclear(r);
  return out;
}

Result<std::vector<SharedPresence>> PgPresence::ReadOthers() {
  pg_result* r = nullptr;
  CONFAB_RETURN_IF_ERROR(Exec("read_others", {id_}, nullptr, &r));
  std::vector<SharedPresence> out;
  for (int i = 0; i < PQntuples(r); ++i)
    out.push_back(RowAt(r, i));
  PQclear(r);
  return out;
}

}  // namespace confab::tracker
