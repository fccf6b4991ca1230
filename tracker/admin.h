// Ops commands that read or change the directory: `users` and `revoke`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "tracker/state.h"

namespace confab::tracker {

struct UserInfo {
  std::string name;
  bool online = false;
  std::string status;  // "online", "away", "busy", "invisible", "offline", "revoked"
  std::string text;
  bool revoked = false;
  int64_t enrolled_unix = 0;
  int64_t last_seen_unix = 0;            // 0: never seen online
  std::string fingerprint;               // of the member's identity key
  int64_t certificate_expires_unix = 0;  // the current certificate's; 0 if unreadable
};

// Every member in the directory, sorted by name. Presence comes from the
// directory's durable record (last seen); a running tracker overlays its
// live view (see serve.h).
[[nodiscard]] Result<std::vector<UserInfo>> ListUsers(TrackerState& state);

// A new certificate for `name`'s key in the directory, with no tracker
// running (Directory::Renew's errors); the member takes it at their next
// session.
[[nodiscard]] Status RenewMember(TrackerState& state, const std::string& name, int64_t now_unix);

// Revokes `name` in the directory. NotFound for an unknown name,
// FailedPrecondition if already revoked.
[[nodiscard]] Status RevokeMember(TrackerState& state, const std::string& name,
                                  const std::string& reason, int64_t now_unix);

}  // namespace confab::tracker
