// Internals shared by the PostgreSQL directory's source files
// (pg_directory.cc: connection, statements and errors; pg_directory_members.cc:
// invites, enrollment, revocation, renewal and lookups; pg_directory_audit.cc:
// last-seen times, the audit and the cluster row). Not for other modules.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/bytes.h"
#include "tracker/pg_directory.h"

namespace confab::tracker {

// Parameters of one prepared statement: text for names and numbers, binary
// for BYTEA. The strings are owned here so the pointers stay valid.
class PgParams {
 public:
  PgParams& Text(std::string_view s) {
    values_.emplace_back(s);
    formats_.push_back(0);
    return *this;
  }
  PgParams& Int(int64_t v) { return Text(std::to_string(v)); }
  PgParams& Binary(ByteView b) {
    values_.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
    formats_.push_back(1);
    return *this;
  }
  int size() const { return static_cast<int>(values_.size()); }
  // Valid until the next change.
  void Fill(std::vector<const char*>* values, std::vector<int>* lengths) const {
    for (const std::string& v : values_) {
      values->push_back(v.data());
      lengths->push_back(static_cast<int>(v.size()));
    }
  }
  const int* formats() const { return formats_.empty() ? nullptr : formats_.data(); }

 private:
  std::vector<std::string> values_;
  std::vector<int> formats_;
};

enum class PgDirectory::Stmt : int {
  kMemberByName,
  kMemberByNameForUpdate,
  kMemberByKey,
  kMemberByNoiseKey,
  kListMembers,
  kDropPendingInvite,
  kInsertInvite,
  kInviteForUpdate,
  kUseInvite,
  kKeyRevoked,
  kNextSerial,
  kInsertMember,
  kRevokeMember,
  kInsertRevocation,
  kDeleteMember,
  kRecordLastSeen,
  kInsertAudit,
  kGetCluster,
  kCreateCluster,
  kListAudit,
  kUpdateCertificate,
  kNotifyRevoked,
  kLockRecipient,
  kMailboxHeld,
  kInsertEnvelope,
  kFetchEnvelopes,
  kAckEnvelope,
  kExpireEnvelopes,
  kMailboxTotals,
  kMailboxTop,
  kDropMailbox,
};

// BEGIN now; ROLLBACK unless Commit() ran.
class PgDirectory::Transaction {
 public:
  explicit Transaction(PgDirectory* d) : d_(d) {}
  ~Transaction() {
    if (begun_ && !done_)
      (void)d_->Run("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Begin() {
    CONFAB_RETURN_IF_ERROR(d_->Run("BEGIN"));
    begun_ = true;
    return Status::Ok();
  }
  Status Commit() {
    done_ = true;
    d_->commit_sent_ = true;
    return d_->Run("COMMIT");
  }

 private:
  PgDirectory* d_;
  bool begun_ = false;
  bool done_ = false;
};

template <typename Op>
auto PgDirectory::WithReconnect(Op&& op) -> decltype(op()) {
  if (PQstatus(conn_) != CONNECTION_OK)
    CONFAB_RETURN_IF_ERROR(Reconnect());
  commit_sent_ = false;
  auto first = op();
  if (first.ok() || PQstatus(conn_) == CONNECTION_OK || commit_sent_)
    return first;
  // The connection was lost before anything could commit: the server
  // restarted, or the network dropped. Once more on a fresh connection.
  CONFAB_RETURN_IF_ERROR(Reconnect());
  commit_sent_ = false;
  return op();
}

namespace pg_detail {

// Row readers for text-format results (pg_directory.cc).
std::string Trimmed(const char* msg);
bool IsNull(const PGresult* r, int row, int col);
std::string TextAt(const PGresult* r, int row, int col);
int64_t IntAt(const PGresult* r, int row, int col);
Bytes BytesAt(const PGresult* r, int row, int col);  // text-format BYTEA
Member MemberAt(const PGresult* r, int row);

}  // namespace pg_detail

}  // namespace confab::tracker
