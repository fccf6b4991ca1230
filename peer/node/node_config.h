// NodeConfig: the workstation's own settings, $CONFAB_HOME/config.toml
// (DESIGN.md "On disk"). The file is optional; every key has a default.
//
//   [history]
//   retain_days = 90     # purge received and delivered messages older than
//                        # this, at start-up and once a day; 0 = keep all
//   [transfers]          # receiving files: peer/transfer/policy.h
//   [network]
//   path = "auto"        # how contacts are reached: "auto" (LAN TCP, public
//                        # TCP, UDP through hole punching, then the relay
//                        # through the tracker), "tcp" (TCP only), "udp" (UDP
//                        # only) or "relay" (the relay only); the last three
//                        # for labs, tests and benchmarks
//   relay_after_ms = 2000  # "auto": the relay is tried this long after the
//                        # route is known while the direct dials still run
//                        # (at once when they all failed sooner; 0..60000)
//   direct_retry_s = 60  # while a contact is reached only through the relay,
//                        # the direct paths are tried again this often
//                        # (1..86400)
//   udp_head_start_ms = 300  # "auto": the UDP dial starts this long after
//                        # the TCP dials (happy eyeballs; 0..10000)
//   presence_grace_ms = 30000  # after the tracker link is back, a contact
//                        # pushed offline stays shown as before this long
//                        # (they may not have reconnected yet; 0..300000)
//   [console]
//   bell = true          # the console rings the terminal's bell on a new
//                        # incoming message
//
// Unknown keys are refused (a misspelt key must not silently mean the
// default), with the file, line and column, as the tracker does.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace confab::peer {

inline constexpr std::string_view kConfigFile = "config.toml";
inline constexpr int64_t kMaxRetainDays = 36500;
inline constexpr int64_t kMaxUdpHeadStartMs = 10000;
inline constexpr int64_t kDefaultRelayAfterMs = 2000;
inline constexpr int64_t kMaxRelayAfterMs = 60000;
inline constexpr int64_t kDefaultDirectRetryS = 60;
inline constexpr int64_t kMaxDirectRetryS = 86400;
// The tracker link's longest reconnect backoff: by then everyone who is
// still up has reconnected to a restarted tracker.
inline constexpr int64_t kDefaultPresenceGraceMs = 30000;
inline constexpr int64_t kMaxPresenceGraceMs = 300000;

struct NodeConfig {
  int64_t retain_days = 0;                              // 0 = keep history for ever
  std::string path = "auto";                            // network.path, checked by ParsePathPolicy
  int64_t udp_head_start_ms = 300;                      // network.udp_head_start_ms
  int64_t relay_after_ms = kDefaultRelayAfterMs;        // network.relay_after_ms
  int64_t direct_retry_s = kDefaultDirectRetryS;        // network.direct_retry_s
  int64_t presence_grace_ms = kDefaultPresenceGraceMs;  // network.presence_grace_ms
  bool console_bell = true;  // console.bell (read by the console, not the node)
};

// Every key config.toml may hold.
std::span<const std::string_view> NodeConfigKeys();

// Reads `path`. Defaults when the file does not exist; InvalidArgument
// ("path:line:column: ...") for bad TOML, an unknown key or a value of the
// wrong type or out of range; IoError when it cannot be read.
[[nodiscard]] Result<NodeConfig> LoadNodeConfig(const std::string& path);

}  // namespace confab::peer
