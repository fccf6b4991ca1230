// Helpers the node-talking commands share (cli_control.cc, cli_contacts.cc).
#pragma once

#include <optional>
#include <string>

#include "proto/control.pb.h"

namespace confab::peer::cli {

// Sends `request` to this home's node (CONFAB_HOME). On success sets
// `*exit_code` to kExitOk and returns the Response, which is ok(). Else
// prints "confab COMMAND: why" on stderr, sets `*exit_code` (kExitNoNode
// when no node runs, with how to start one; kExitFailed otherwise, the
// node's refusal included) and returns nullopt.
std::optional<proto::Response> Call(const char* command, const proto::Request& request,
                                    int* exit_code);

}  // namespace confab::peer::cli
