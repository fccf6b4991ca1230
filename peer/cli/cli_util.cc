#include "peer/cli/cli_util.h"

#include <cstdio>
#include <utility>

#include "peer/cli/cli.h"
#include "peer/control/control_client.h"
#include "peer/node/home.h"
#include "peer/node/node.h"

namespace confab::peer::cli {

std::optional<proto::Response> Call(const char* command, const proto::Request& request,
                                    int* exit_code) {
  auto home = Home::FromEnvironment();
  if (!home.ok()) {
    std::fprintf(stderr, "confab %s: %s\n", command, std::string(home.status().message()).c_str());
    *exit_code = kExitFailed;
    return std::nullopt;
  }
  Result<proto::Response> response = CallNode(home->Path(kControlSocketFile), request);
  if (!response.ok()) {
    if (response.status().code() == Status::Code::kUnavailable) {
      std::fprintf(stderr,
                   "confab %s: no node is running for %s; start one with `confab up` "
                   "(it runs in the foreground)\n",
                   command, home->dir().c_str());
      *exit_code = kExitNoNode;
    } else {
      std::fprintf(stderr, "confab %s: %s\n", command,
                   std::string(response.status().message()).c_str());
      *exit_code = kExitFailed;
    }
    return std::nullopt;
  }
  if (!response->ok()) {
    std::fprintf(stderr, "confab %s: %s\n", command, response->error().c_str());
    *exit_code = kExitFailed;
    return std::nullopt;
  }
  if (!response->notice().empty())
    std::fprintf(stderr, "confab %s: %s\n", command, response->notice().c_str());
  *exit_code = kExitOk;
  return std::move(*response);
}

}  // namespace confab::peer::cli
