// ControlServer: the node's end of node.sock (proto/control.proto). It
// accepts local connections, reads one Request from each, hands it to its
// Delegate, writes the Response and closes. A connection that sends a frame
// over the limit or bytes that do not parse as a Request is closed without
// an answer; the server goes on serving.
//
// Lifetime: `loop` and `delegate` must outlive the server. Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/base/result.h"
#include "common/net/loop.h"
#include "common/net/pipe.h"
#include "peer/control_frame.h"
#include "proto/control.pb.h"

namespace confab::peer {

class ControlServer final : private net::PipeListener::Delegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // Answers one request; runs on the loop thread.
    virtual proto::Response HandleControl(const proto::Request& request) = 0;
  };

  // Listens on `path` (mode 0600). A socket file left by a node that is no
  // longer running is removed first; FailedPrecondition "a node is already
  // running" if something answers on it. The listener's errors otherwise.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> Create(net::Loop& loop,
                                                                     const std::string& path,
                                                                     Delegate* delegate);
  ~ControlServer() override;

  // Stops listening and closes every open connection. Idempotent.
  void Close();

 private:
  class Client;
  explicit ControlServer(Delegate* delegate);
  void OnIncoming(Status status) override;
  void Forget(Client* client);  // from the client's OnClosed

  Delegate* const delegate_;
  std::unique_ptr<net::PipeListener> listener_;
  std::map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace confab::peer
