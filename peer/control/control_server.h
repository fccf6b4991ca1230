// ControlServer: the node's end of node.sock (proto/control.proto). It
// accepts local connections, reads one Request from each, hands it to its
// Delegate, writes the Response and closes. A connection that sends a frame
// over the limit or bytes that do not parse as a Request is closed without
// an answer, and so is one that has not finished a request (or not read its
// answer) within options.idle_timeout_ms; the server goes on serving.
//
// SubscribeEvents is answered here, not by the delegate: an ok Response,
// then the connection stays open and receives every Event given to
// Publish(), in order. Subscribers have no idle timeout. A subscriber with
// more than options.max_subscriber_queue_bytes written but not yet taken by
// the kernel (it stopped reading) is closed, so a slow console never makes
// the node buffer without bound or block.
//
// The delegate may be given later (set_delegate): the node takes node.sock
// first, so that a second node on the same home fails before it binds a
// port, and builds what answers requests afterwards. Until then a request
// is refused ("the node is starting").
//
// Lifetime: `loop` and `delegate` must outlive the server. Not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/base/result.h"
#include "common/net/loop.h"
#include "common/net/pipe.h"
#include "peer/control/control_frame.h"
#include "proto/control.pb.h"

namespace confab::peer {

struct ControlServerOptions {
  uint64_t idle_timeout_ms = 30000;
  size_t max_subscriber_queue_bytes = 1 << 20;
};

class ControlServer final : private net::PipeListener::Delegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // Answers one request; runs on the loop thread.
    virtual proto::Response HandleControl(const proto::Request& request) = 0;
    // Answers one request now or later, by calling `reply` once on the loop
    // thread: for the answers that wait on the tracker (is this name a
    // member?). A reply after the client went away is dropped. By default,
    // at once with HandleControl.
    using Reply = std::function<void(proto::Response)>;
    virtual void HandleControlLater(const proto::Request& request, Reply reply) {
      reply(HandleControl(request));
    }
  };

  // Listens on `path` (mode 0600). A socket file left by a node that is no
  // longer running is removed first; FailedPrecondition "a node is already
  // running" if something answers on it. The listener's errors otherwise.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> Create(
      net::Loop& loop, const std::string& path, Delegate* delegate,
      ControlServerOptions options = {});
  ~ControlServer() override;

  // Writes `event` to every subscriber (see above: one that has fallen too
  // far behind is closed instead). Never blocks.
  void Publish(const proto::Event& event);
  void set_delegate(Delegate* delegate) { delegate_ = delegate; }
  // Subscribers still open.
  size_t subscriber_count() const;

  // Stops listening and closes every open connection. Idempotent.
  void Close();

 private:
  class Client;
  ControlServer(net::Loop& loop, Delegate* delegate, ControlServerOptions options);
  void OnIncoming(Status status) override;
  void Forget(Client* client);  // from the client's OnClosed

  net::Loop& loop_;
  Delegate* delegate_;  // null until set
  const ControlServerOptions options_;
  std::unique_ptr<net::PipeListener> listener_;
  std::map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace confab::peer
