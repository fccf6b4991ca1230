// ClusterPresence: the presence other trackers of a cluster share (issue 16).
// TrackerService publishes what its own members show and reads what another
// tracker's members show through it; PgPresence is the PostgreSQL one. With
// no cluster (SQLite, one tracker) the service has none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/base/status.h"
#include "proto/tracker.pb.h"
#include "tracker/cluster_punch.h"

namespace confab::tracker {

struct SharedPresence {
  std::string name;
  std::string tracker_id;  // the tracker holding the session
  proto::PresenceStatus status = proto::PRESENCE_ONLINE;
  std::string text;
  std::vector<proto::Endpoint> endpoints;
};

class ClusterPresence {
 public:
  virtual ~ClusterPresence() = default;
  // This tracker's id in the cluster (random per serve process).
  virtual const std::string& tracker_id() const = 0;
  // `p.name` shows `p` on this tracker (tracker_id is ignored: this one's).
  [[nodiscard]] virtual Status Publish(const SharedPresence& p, int64_t now) = 0;
  // `name` left this tracker; a newer row from another tracker stays.
  [[nodiscard]] virtual Status Withdraw(std::string_view name) = 0;
  // What the cluster says about `name`; nullopt if no tracker holds them.
  [[nodiscard]] virtual Result<std::optional<SharedPresence>> Read(std::string_view name) = 0;
  // Every member another tracker holds (at start, and after missed
  // notifications).
  [[nodiscard]] virtual Result<std::vector<SharedPresence>> ReadOthers() = 0;
  // Announces a punch request to every tracker; the one holding
  // `p.target`'s session tells them (TrackerService::OnClusterPunch).
  [[nodiscard]] virtual Status RequestPunch(const ClusterPunch& p) = 0;
};

}  // namespace confab::tracker
