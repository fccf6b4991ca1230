// A punch request crossing trackers of a cluster (issue 16): a member on one
// tracker asks for a hole punch to a member whose session is on another.
// The requester's tracker answers its member at once (the target's endpoints
// are in the shared presence) and announces the request; the target's
// tracker tells its member whom to punch to, as on one tracker.
//
// The announcement is a NOTIFY payload (PgPresence::RequestPunch): three
// lines "TARGET\nREQUEST_ID\nREQUESTER", at most kMaxPunchPayloadBytes, far
// below PostgreSQL's 8000-byte limit. Everything else (the requester's
// endpoints) is read from the shared presence, not carried.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace confab::tracker {

struct ClusterPunch {
  std::string target;       // whose session is on another tracker
  uint64_t request_id = 0;  // the requester's, echoed in both PunchNotices
  std::string requester;    // the member who asked
  bool operator==(const ClusterPunch&) const = default;
};

// Two names of at most 64 bytes, a 20-digit number and two newlines.
inline constexpr size_t kMaxPunchPayloadBytes = 64 + 1 + 20 + 1 + 64;

// The payload for `p`; both names must be 1..64 bytes without '\n' (member
// names always are).
std::string PunchPayload(const ClusterPunch& p);
// Parses a payload as PunchPayload writes it; nullopt for anything else
// (too long, a missing or empty field, a name over 64 bytes or with a
// control byte, a request id that is not a decimal uint64).
std::optional<ClusterPunch> ParsePunchPayload(std::string_view payload);

}  // namespace confab::tracker
