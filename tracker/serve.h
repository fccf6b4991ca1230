// `confab-tracker serve` and the ops commands that talk to a running tracker.
#pragma once

#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/net/address.h"
#include "proto/tracker.pb.h"
#include "tracker/state.h"

namespace confab::tracker {

// Runs the tracker in the foreground until SIGINT or SIGTERM. Returns the
// process exit code: 0 after a clean shutdown, 1 with a message on stderr
// when it cannot start (bad config, busy port, unreadable key).
// log_level, when not empty, overrides tracker.toml's log_level.
int Serve(const std::string& dir, const std::string& log_level = "");

// Where a local ops command reaches the running tracker: the listen
// address, with a wildcard host replaced by loopback and port 0 replaced by
// the port the running tracker bound (from the tracker.addr file it writes).
// Unavailable when port 0 is configured and no tracker is running.
[[nodiscard]] Result<net::Address> LocalTrackerAddress(const TrackerState& state);

// The address invite codes carry: `advertise`, with port 0 replaced as above.
[[nodiscard]] Result<std::string> AdvertisedAddress(const TrackerState& state);

// One admin request to the running tracker over PURPOSE_ADMIN, authenticated
// with the tracker's own key. Unavailable when no tracker is running.
[[nodiscard]] Result<proto::AdminResponse> AdminCall(const TrackerState& state,
                                                     const proto::AdminRequest& request);

}  // namespace confab::tracker
