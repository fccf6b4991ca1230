// PgPresence: ClusterPresence on the PostgreSQL directory's `trackers` and
// `presence` tables (schema version 2; docs/design.md "Tracker storage").
//
// Register() adds this tracker's row; Heartbeat() refreshes it and removes
// the rows of trackers silent for longer than `dead_after` (kill -9
// included), which takes their members' presence rows with them; each
// removed row NOTIFYs, so every tracker's PgListener hears that those
// members went offline. Unregister() removes this tracker's row at a clean
// stop.
//
// Its own libpq connection, prepared statements, blocking calls (as
// PgDirectory); a lost connection is reset on the next call.
#pragma once

#include <memory>
#include <string>

#include "tracker/cluster_presence.h"

struct pg_conn;
struct pg_result;

namespace confab::tracker {

class PgPresence final : public ClusterPresence {
 public:
  // Connects to `url` (already migrated by PgDirectory::Open) and picks a
  // random tracker id. Unavailable if the server cannot be reached.
  [[nodiscard]] static Result<std::unique_ptr<PgPresence>> Open(const std::string& url,
                                                                std::string address);
  ~PgPresence() override;
  PgPresence(const PgPresence&) = delete;
  PgPresence& operator=(const PgPresence&) = delete;

  const std::string& tracker_id() const override { return id_; }
  [[nodiscard]] Status Publish(const SharedPresence& p, int64_t now) override;
  [[nodiscard]] Status Withdraw(std::string_view name) override;
  [[nodiscard]] Result<std::optional<SharedPresence>> Read(std::string_view name) override;
  [[nodiscard]] Result<std::vector<SharedPresence>> ReadOthers() override;
  // NOTIFY on kPgPunchChannel with PunchPayload(p).
  [[nodiscard]] Status RequestPunch(const ClusterPunch& p) override;

  [[nodiscard]] Status Register(int64_t now);
  // Refreshes this tracker's row (re-adding it if a peer removed it while
  // this tracker was cut off; its members' rows are not restored then) and
  // removes trackers whose heartbeat is older than now - dead_after.
  // Returns how many were removed.
  [[nodiscard]] Result<int> Heartbeat(int64_t now, int64_t dead_after_seconds);
  [[nodiscard]] Status Unregister();

 private:
  PgPresence(pg_conn* conn, std::string id, std::string address);
  Status Prepare();
  Status Exec(const char* stmt, const std::vector<std::string>& text_params,
              int* rows_affected = nullptr, pg_result** out = nullptr);

  pg_conn* conn_;
  const std::string id_;
  const std::string address_;
  int64_t started_at_ = 0;
};

}  // namespace confab::tracker
