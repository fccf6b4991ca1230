// config.toml in $CONFAB_HOME: history.retain_days, and refusals.
#include "peer/node/node_config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

namespace confab::peer {
namespace {

struct TempHome {
  TempHome() {
    char pattern[] = "/tmp/confab-config-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
  }
  ~TempHome() { std::filesystem::remove_all(dir); }
  std::string Write(const std::string& text) {
    const std::string path = dir + "/config.toml";
    std::ofstream(path) << text;
    return path;
  }
  std::string dir;
};

TEST_CASE("NodeConfig: no config.toml means every default", "[peer][config]") {
  TempHome home;
  Result<NodeConfig> config = LoadNodeConfig(home.dir + "/config.toml");
  REQUIRE(config.ok());
  CHECK(config->retain_days == 0);
  CHECK(config->udp_head_start_ms == 300);
  CHECK(config->console_bell);
  CHECK(config->presence_grace_ms == 30000);
  CHECK(config->path == "auto");
  CHECK(config->relay_after_ms == 2000);
  CHECK(config->direct_retry_s == 60);
}

TEST_CASE("NodeConfig reads the relay keys and network.path = relay", "[peer][config]") {
  TempHome home;
  Result<NodeConfig> config = LoadNodeConfig(
      home.Write("[network]\npath = \"relay\"\nrelay_after_ms = 0\ndirect_retry_s = 5\n"));
  REQUIRE(config.ok());
  CHECK(config->path == "relay");
  CHECK(config->relay_after_ms == 0);
  CHECK(config->direct_retry_s == 5);
}

TEST_CASE("NodeConfig reads network.presence_grace_ms", "[peer][config]") {
  TempHome home;
  Result<NodeConfig> config = LoadNodeConfig(home.Write("[network]\npresence_grace_ms = 2000\n"));
  REQUIRE(config.ok());
  CHECK(config->presence_grace_ms == 2000);
}

TEST_CASE("NodeConfig reads console.bell", "[peer][config]") {
  TempHome home;
  Result<NodeConfig> config = LoadNodeConfig(home.Write("[console]\nbell = false\n"));
  REQUIRE(config.ok());
  CHECK_FALSE(config->console_bell);
}

TEST_CASE("NodeConfig reads network.udp_head_start_ms", "[peer][config]") {
  TempHome home;
  Result<NodeConfig> config = LoadNodeConfig(home.Write("[network]\nudp_head_start_ms = 0\n"));
  REQUIRE(config.ok());
  CHECK(config->udp_head_start_ms == 0);
}

TEST_CASE("NodeConfig reads history.retain_days", "[peer][config]") {
  TempHome home;
  Result<NodeConfig> config = LoadNodeConfig(home.Write("[history]\nretain_days = 30\n"));
  REQUIRE(config.ok());
  CHECK(config->retain_days == 30);
}

TEST_CASE("NodeConfig refuses unknown keys and bad values, naming the place",
          "[peer][config][error]") {
  TempHome home;
  const struct {
    const char* toml;
    const char* says;
  } cases[] = {
      {"[history]\nretain_dayz = 30\n", "unknown key 'history.retain_dayz'"},
      {"retain_days = 30\n", "unknown key 'retain_days'"},
      {"[history]\nretain_days = -1\n", "history.retain_days"},
      {"[history]\nretain_days = 99999999\n", "history.retain_days"},
      {"[history]\nretain_days = \"30\"\n", "history.retain_days"},
      {"[network]\nudp_head_start_ms = 10001\n", "network.udp_head_start_ms"},
      {"[network]\nudp_head_start_ms = -1\n", "network.udp_head_start_ms"},
      {"[network]\npresence_grace_ms = 300001\n", "network.presence_grace_ms"},
      {"[network]\nrelay_after_ms = 60001\n", "network.relay_after_ms"},
      {"[network]\ndirect_retry_s = 0\n", "network.direct_retry_s"},
      {"[network]\npath = \"derp\"\n", "\"relay\""},
      {"[console]\nbell = \"yes\"\n", "console.bell"},
      {"[console]\nbel = true\n", "unknown key 'console.bel'"},
      {"[history\n", "config.toml:1"},
  };
  for (const auto& t : cases) {
    INFO(t.toml);
    Result<NodeConfig> config = LoadNodeConfig(home.Write(t.toml));
    REQUIRE_FALSE(config.ok());
    CHECK(config.status().code() == Status::Code::kInvalidArgument);
    CHECK(std::string(config.status().message()).find(t.says) != std::string::npos);
  }
}

}  // namespace
}  // namespace confab::peer
