// PipeListener and PipeConnection: a Unix-domain stream socket (uv_pipe_t),
// for local control sockets such as the node's node.sock. They own their uv
// handles as STYLE.md A4 and Part C say, the same way TcpListener and
// TcpConnection do, and keep to the same contracts (see tcp_connection.h).
// PipeConnection is a ByteStream, a thin layer over internal::UvStream
// (uv_stream.h) as TcpConnection is:
//
//   PipeConnection events reach one Delegate, each as the last thing the
//   callback does: OnRead (bytes, never empty), OnWritable (want_write()
//   turned true again) and OnClosed (exactly once, from the close callback,
//   unless the connection is destroyed first):
//     OK      Close() or a completed Shutdown()
//     Closed  the peer closed, or the Loop closed the connection
//     other   a read, write or shutdown error (FromUv)
//
// Only the accepting side is provided: clients of a control socket are
// short-lived command-line processes that use blocking sockets.
//
// Lifetime: delegates must outlive their objects. Destroy a connection from
// OnClosed or later; Close() and Shutdown() only start closing. A listener
// may be destroyed at any time, OnIncoming included.
#pragma once

#include <memory>
#include <string>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/byte_stream.h"
#include "common/net/handle.h"
#include "common/net/loop.h"
#include "common/net/uv_stream.h"

namespace confab::net {

class PipeConnection final : public internal::UvStream {
 public:
  // An accepted pipe never connects, and OnWritable matters only to a
  // producer that watches want_write(), so both have empty defaults here.
  class Delegate : public StreamDelegate {
   public:
    void OnConnected() override {}
    void OnWritable() override {}
  };

  // State (never kConnecting here), state() and the ByteStream calls
  // (StartReading, Write, want_write, write_queue_bytes, Shutdown, Close,
  // ...) are UvStream's: see uv_stream.h. The write-queue marks are the
  // defaults there (1 MiB high, 256 KiB low), as for TcpConnection.
  ~PipeConnection() override = default;

 private:
  friend class PipeListener;
  explicit PipeConnection(StreamDelegate* delegate);
  // For PipeListener::Accept: takes the pending connection off `server`.
  static Result<std::unique_ptr<PipeConnection>> AcceptFrom(Loop& loop, uv_stream_t* server,
                                                            StreamDelegate* delegate);
};

class PipeListener final : public internal::HandleOwner {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // OK: a connection is waiting; call Accept() now. Not OK: accepting
    // failed; the listener stays open.
    virtual void OnIncoming(Status status) = 0;
  };

  // Binds the socket file `path` with mode 0600 and listens. The file must
  // not exist (the caller removes a stale one). FailedPrecondition if the
  // loop is closing; InvalidArgument for a path too long for sun_path; the
  // bind/listen/chmod error otherwise (Unavailable for EADDRINUSE).
  // The socket file is removed when the listener is destroyed.
  static Result<std::unique_ptr<PipeListener>> Create(Loop& loop, const std::string& path,
                                                      Delegate* delegate, int backlog = 16);
  ~PipeListener() override;

  const std::string& path() const { return path_; }

  // Takes the pending connection (kOpen; call StartReading). The caller
  // owns it. FailedPrecondition once closed; the uv_accept error otherwise.
  Result<std::unique_ptr<PipeConnection>> Accept(PipeConnection::Delegate* delegate);

  // Stops listening. Idempotent; no upcall follows.
  void Close() { handle_.Close(); }

 private:
  PipeListener(Loop& loop, Delegate* delegate) : loop_(loop), delegate_(delegate) {}
  static void ConnectionCb(uv_stream_t* server, int status) noexcept;
  void CloseForLoop() noexcept override { Close(); }
  void OnHandleClosed() noexcept override { handle_.Forget(); }

  Loop& loop_;
  Delegate* const delegate_;
  std::string path_;
  bool bound_ = false;  // the socket file is ours to remove
  internal::OwnedHandle<uv_pipe_t> handle_;
};

}  // namespace confab::net
