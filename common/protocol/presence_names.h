// The words people and scripts use for presence (`confab status away`,
// `--json` output, the tracker's `users`), in one place for the tracker, the
// node and the tools.
#pragma once

#include <optional>
#include <string_view>

#include "proto/tracker.pb.h"

namespace confab::protocol {

// "online", "away", "busy", "invisible" or "offline" (also for UNKNOWN).
std::string_view PresenceStatusName(proto::PresenceStatus status);

// The four statuses a member can set: online, away, busy, invisible.
// nullopt for anything else (including "offline": members go offline by
// leaving, not by saying so).
std::optional<proto::PresenceStatus> ParseSettableStatus(std::string_view word);

// Whether others see the member as reachable (online, away or busy).
bool ShowsOnline(proto::PresenceStatus status);

}  // namespace confab::protocol
