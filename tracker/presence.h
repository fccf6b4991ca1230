// Presence: who is online, what status they show, where they can be reached,
// and who wants to hear about changes. Soft state in memory: after a tracker
// restart it is rebuilt as nodes reconnect and announce again (DESIGN.md).
//
// The interface speaks names and session ids only, never sockets, so that a
// shared store (Redis with key expiry and pub/sub) can sit behind it when one
// tracker is not enough.
//
// Changes produce notifications (a subscriber's session and the entry it
// should see) that the caller drains with TakeNotifications() and sends as
// PresenceDelta messages: only entries that changed, never the whole list.
//
// Not thread-safe: the tracker's loop thread owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/base/result.h"
#include "proto/tracker.pb.h"

namespace confab::tracker {

using SessionId = uint64_t;

inline constexpr size_t kMaxStatusTextBytes = 140;
inline constexpr size_t kMaxEndpointsPerMember = 16;

struct PresenceLimits {
  size_t max_subscriptions_per_member = 1000;
};

// What one member shows to others.
struct PresenceEntry {
  std::string name;
  proto::PresenceStatus status = proto::PRESENCE_OFFLINE;
  std::string text;
  int64_t last_seen_unix = 0;
};

struct Notification {
  SessionId subscriber;  // the session to send it to
  PresenceEntry entry;
};

class Presence {
 public:
  explicit Presence(PresenceLimits limits = {});

  // `name` is online on `session`. A member has one session: if another was
  // attached it is replaced and its id is returned so the caller can close it.
  std::optional<SessionId> Attach(std::string_view name, SessionId session, int64_t now_unix);

  // The session ended. Ignored unless `session` is the member's current one
  // (a replaced session may end after its successor started). The member's
  // subscriptions end with it.
  void Detach(std::string_view name, SessionId session, int64_t now_unix);

  // Sets the status a member shows. InvalidArgument for OFFLINE/UNKNOWN or a
  // text over kMaxStatusTextBytes; FailedPrecondition if not attached.
  [[nodiscard]] Status SetStatus(std::string_view name, proto::PresenceStatus status,
                                 std::string_view text, int64_t now_unix);

  // Replaces the endpoints a member announced. InvalidArgument past
  // kMaxEndpointsPerMember; FailedPrecondition if not attached.
  [[nodiscard]] Status SetEndpoints(std::string_view name, std::vector<proto::Endpoint> endpoints);

  // Replaces the list of members `name` follows and returns the current
  // entries of those newly added (the rest of the list the subscriber
  // already has). ResourceExhausted over the per-member limit (and the old
  // list stays); FailedPrecondition if not attached.
  [[nodiscard]] Result<std::vector<PresenceEntry>> Subscribe(std::string_view name,
                                                             const std::vector<std::string>& names);

  // What `name` shows to others right now (OFFLINE when not attached or
  // invisible, with the text hidden).
  PresenceEntry View(std::string_view name) const;

  // The endpoints a member announced, empty when offline or invisible.
  std::vector<proto::Endpoint> Endpoints(std::string_view name) const;

  std::optional<SessionId> SessionOf(std::string_view name) const;

  // What another tracker of the cluster says `name` shows (issue 16): their
  // session is there, not here. A remote entry shows only while the member
  // has no session on this tracker; followers here are told of changes as
  // for local ones. nullopt clears it (offline, or gone from that tracker).
  // The status is what that tracker's members see (never INVISIBLE).
  struct RemoteEntry {
    proto::PresenceStatus status = proto::PRESENCE_ONLINE;
    std::string text;
    std::vector<proto::Endpoint> endpoints;
  };
  void SetRemote(std::string_view name, std::optional<RemoteEntry> entry, int64_t now_unix);
  // The names with a remote entry.
  std::vector<std::string> RemoteNames() const;

  // The notifications produced since the last call, in order.
  std::vector<Notification> TakeNotifications();

  size_t online_count() const { return online_.size(); }
  size_t subscription_count() const { return subscription_count_; }

 private:
  struct Online {
    SessionId session = 0;
    proto::PresenceStatus status = proto::PRESENCE_ONLINE;
    std::string text;
    std::vector<proto::Endpoint> endpoints;
    std::vector<std::string> following;  // whom this member subscribed to
  };

  PresenceEntry ViewOf(std::string_view name, const Online* online) const;
  // Queues `name`'s current view for each online follower, if it changed
  // what they see.
  void Publish(std::string_view name, const PresenceEntry& before);
  void Unfollow(const std::string& follower, const std::vector<std::string>& targets);

  PresenceLimits limits_;
  std::unordered_map<std::string, Online> online_;
  // target name -> names of the online members following it
  std::unordered_map<std::string, std::unordered_set<std::string>> followers_;
  std::unordered_map<std::string, int64_t> last_seen_;
  std::unordered_map<std::string, RemoteEntry> remote_;
  std::vector<Notification> pending_;
  size_t subscription_count_ = 0;
};

}  // namespace confab::tracker
