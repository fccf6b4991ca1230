// `confab` with no arguments on a terminal: the interactive console
// (peer/console.h) for this home's running node.
#include <cstdio>
#include <string>

#include "peer/cli/cli.h"
#include "peer/cli/console.h"
#include "peer/node/home.h"
#include "peer/node/node.h"
#include "peer/node/node_config.h"

namespace confab::peer::cli {

int RunConsole() {
  auto home = Home::FromEnvironment();
  if (!home.ok()) {
    std::fprintf(stderr, "confab: %s\n", std::string(home.status().message()).c_str());
    return kExitFailed;
  }
  if (!home->enrolled()) {
    std::fprintf(stderr, "confab: %s is not enrolled; run `confab join CODE`, then `confab up`\n",
                 home->dir().c_str());
    return kExitFailed;
  }
  Result<NodeConfig> config = LoadNodeConfig(home->Path(std::string(kConfigFile)));
  if (!config.ok()) {
    std::fprintf(stderr, "confab: %s\n", std::string(config.status().message()).c_str());
    return kExitFailed;
  }
  console::ConsoleParams params;
  params.bell = config->console_bell;
  params.home_dir = home->dir();
  params.socket_path = home->Path(kControlSocketFile);
  params.history_path = home->Path(console::kHistoryFile);
  if (Result<Enrollment> enrollment = home->LoadEnrollment(); enrollment.ok())
    params.self = enrollment->name;
  return console::Run(params);
}

}  // namespace confab::peer::cli
