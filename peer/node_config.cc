#include "peer/node_config.h"

#include "common/config/config.h"

namespace confab::peer {
namespace {

constexpr std::string_view kKnownKeys[] = {"history.retain_days"};

}  // namespace

std::span<const std::string_view> NodeConfigKeys() {
  return kKnownKeys;
}

Result<NodeConfig> LoadNodeConfig(const std::string& path) {
  NodeConfig config;
  Result<config::Config> file = config::Config::Load(path, kKnownKeys);
  if (!file.ok()) {
    if (file.status().code() == Status::Code::kNotFound)
      return config;  // no config.toml: every default
    return file.status();
  }
  CONFAB_ASSIGN_OR_RETURN(config.retain_days,
                          file->GetInt("history.retain_days", 0, 0, kMaxRetainDays));
  return config;
}

}  // namespace confab::peer
