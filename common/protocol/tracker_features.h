// What a tracker serves, as its SessionWelcome says (design.md "Versions"):
// the tracker's protocol version and feature names, in one place for the
// tracker that sets them and the node that checks them before it asks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/base/status.h"
#include "proto/tracker.pb.h"

namespace confab::protocol {

// 0: a tracker from before the field (it answers an unknown ToTracker body
// as corrupt and closes the session). 2: relay messages understood. 3: the
// mailbox's (a version 2 tracker answers them with an Error).
inline constexpr uint32_t kTrackerProtocolVersion = 3;
inline constexpr uint32_t kTrackerRelayVersion = 2;
inline constexpr uint32_t kTrackerMailboxVersion = 3;
inline constexpr std::string_view kFeatureRelay = "relay";
inline constexpr std::string_view kFeatureMailbox = "mailbox";

// Mailbox bounds both ends know: an envelope (so that a deposit and a
// fetched envelope each fit one frame), and the ids in one MailboxAck.
inline constexpr size_t kMaxMailboxEnvelopeBytes = 65'000;
inline constexpr size_t kMaxMailboxAckIds = 256;

// Whether `welcome` lists `feature`.
bool HasFeature(const proto::SessionWelcome& welcome, std::string_view feature);

// OK when the tracker that sent `welcome` will relay. Otherwise
// FailedPrecondition "relay: the tracker is too old" (protocol version
// below kTrackerRelayVersion: asking would close the session) or
// "relay: disabled on the tracker" ([relay] enabled = false).
[[nodiscard]] Status RelayOffered(const proto::SessionWelcome& welcome);

// OK when the tracker that sent `welcome` keeps envelopes. Otherwise
// FailedPrecondition "mailbox: the tracker is too old" (protocol version
// below kTrackerMailboxVersion) or "mailbox: disabled on the tracker"
// ([mailbox] enabled = false, or a directory store without a mailbox).
[[nodiscard]] Status MailboxOffered(const proto::SessionWelcome& welcome);

}  // namespace confab::protocol
