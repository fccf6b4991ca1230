#include "peer/node/node_config.h"

#include <vector>

#include "common/config/config.h"
#include "peer/reach/udp_paths.h"
#include "peer/transfer/policy.h"

namespace confab::peer {
namespace {

// [history], [network] and [console] here, [transfers] from the transfer module (ReceivePolicy,
// read by the node from the same file).
const std::vector<std::string_view>& KnownKeys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> all = {"history.retain_days",
                                         "network.path",
                                         "network.udp_head_start_ms",
                                         "network.presence_grace_ms",
                                         "network.relay_after_ms",
                                         "network.direct_retry_s",
                                         "console.bell"};
    all.insert(all.end(), std::begin(transfer::kPolicyKeys), std::end(transfer::kPolicyKeys));
    return all;
  }();
  return keys;
}

}  // namespace

std::span<const std::string_view> NodeConfigKeys() {
  return KnownKeys();
}

Result<NodeConfig> LoadNodeConfig(const std::string& path) {
  NodeConfig config;
  Result<config::Config> file = config::Config::Load(path, NodeConfigKeys());
  if (!file.ok()) {
    if (file.status().code() == Status::Code::kNotFound)
      return config;  // no config.toml: every default
    return file.status();
  }
  CONFAB_ASSIGN_OR_RETURN(config.retain_days,
                          file->GetInt("history.retain_days", 0, 0, kMaxRetainDays));
  CONFAB_ASSIGN_OR_RETURN(config.path, file->GetString("network.path", "auto"));
  if (Result<PathPolicy> policy = ParsePathPolicy(config.path); !policy.ok())
    return Status::InvalidArgument(path + ": " + std::string(policy.status().message()));
  CONFAB_ASSIGN_OR_RETURN(
      config.udp_head_start_ms,
      file->GetInt("network.udp_head_start_ms", config.udp_head_start_ms, 0, kMaxUdpHeadStartMs));
  CONFAB_ASSIGN_OR_RETURN(
      config.relay_after_ms,
      file->GetInt("network.relay_after_ms", config.relay_after_ms, 0, kMaxRelayAfterMs));
  CONFAB_ASSIGN_OR_RETURN(
      config.direct_retry_s,
      file->GetInt("network.direct_retry_s", config.direct_retry_s, 1, kMaxDirectRetryS));
  CONFAB_ASSIGN_OR_RETURN(
      config.presence_grace_ms,
      file->GetInt("network.presence_grace_ms", config.presence_grace_ms, 0, kMaxPresenceGraceMs));
  CONFAB_ASSIGN_OR_RETURN(config.console_bell, file->GetBool("console.bell", config.console_bell));
  return config;
}

}  // namespace confab::peer
