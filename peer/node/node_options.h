// What `confab up` is started with (config.toml and the command line fill
// NodeOptions in), and where its files are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "peer/control/control_server.h"
#include "peer/node/node_config.h"
#include "peer/reach/udp_paths.h"

namespace confab::peer {

inline constexpr std::string_view kDatabaseFile = "confab.db";
inline constexpr std::string_view kControlSocketFile = "node.sock";
inline constexpr uint16_t kDefaultPeerPort = 7651;

// Told of delivery events as they happen, on the loop's thread: the seam
// for in-process users (the delivery benchmark; later, notifications).
class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  // `count` of our messages to `contact` became delivered: an Ack named
  // them, sent only once they were durable at the contact.
  virtual void OnDelivered(const std::string& contact, int64_t count) = 0;
};

struct NodeOptions {
  std::string listen = "0.0.0.0:7651";   // the peer port (TCP, and UDP on the same number)
  uint64_t retry_ms = 5000;              // outbox retry period
  DeliveryObserver* observer = nullptr;  // optional; must outlive the node
  int64_t retain_days = 0;               // history.retain_days; 0 = keep all
  PathPolicy paths = PathPolicy::kAuto;  // network.path
  uint64_t udp_head_start_ms = 300;      // network.udp_head_start_ms
  uint64_t relay_after_ms = kDefaultRelayAfterMs;        // network.relay_after_ms
  uint64_t direct_retry_s = kDefaultDirectRetryS;        // network.direct_retry_s
  uint64_t presence_grace_ms = kDefaultPresenceGraceMs;  // network.presence_grace_ms (EventFeed)
  uint64_t purge_every_ms = 24 * 3600 * 1000;
  ControlServerOptions control{};
};

}  // namespace confab::peer
