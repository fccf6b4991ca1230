// Building control-socket responses (proto/control.proto) in the node.
#pragma once

#include <string>

#include "common/base/status.h"
#include "proto/control.pb.h"

namespace confab::peer {

// A refusal the CLI prints as it is.
inline proto::Response Failure(const Status& status) {
  proto::Response response;
  response.set_ok(false);
  response.set_error(std::string(status.message()));
  return response;
}

}  // namespace confab::peer
