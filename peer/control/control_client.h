// The command line's end of node.sock: one blocking request and response
// (proto/control.proto, framing in control_frame.h). For the short-lived
// `confab msg`, `confab who`, ... processes and the console's commands;
// it blocks, for milliseconds while the node is well.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/result.h"
#include "proto/control.pb.h"

namespace confab::peer {

// Sends `request` to the node listening on `socket_path` and returns its
// Response. Unavailable when no node is running there (no socket file, or
// nobody accepting); Closed when it closed the connection unanswered (a
// request it refused, or a node stopping); ResourceExhausted when the node
// does not answer within `timeout_ms`; Corruption for an answer that does
// not parse; IoError for other socket errors.
[[nodiscard]] Result<proto::Response> CallNode(const std::string& socket_path,
                                               const proto::Request& request,
                                               uint64_t timeout_ms = 30000);

// Opens an event subscription (SubscribeEvents) and returns the connected
// socket, which the caller owns: from then on it carries Event frames until
// the node closes it. The same errors as CallNode; FailedPrecondition if
// the node refuses.
[[nodiscard]] Result<int> SubscribeToNode(const std::string& socket_path,
                                          uint64_t timeout_ms = 30000);

}  // namespace confab::peer
