// PipeListener and PipeConnection: a Unix-domain stream socket (uv_pipe_t),
// for local control sockets such as the node's node.sock. They own their uv
// handles as STYLE.md A4 and Part C say, the same way TcpListener and
// TcpConnection do, and keep to the same contracts (see tcp_connection.h):
//
//   PipeConnection events reach one Delegate, each as the last thing the
//   callback does: OnRead (bytes, never empty) and OnClosed (exactly once,
//   from the close callback, unless the connection is destroyed first):
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
#include "common/net/handle.h"
#include "common/net/loop.h"

namespace confab::net {

class PipeConnection final : public internal::HandleOwner {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // `data` is valid only during the call; never empty.
    virtual void OnRead(ByteView data) = 0;
    virtual void OnClosed(Status status) = 0;
  };

  enum class State { kOpen, kShuttingDown, kClosing, kClosed };

  ~PipeConnection() override = default;
  State state() const { return state_; }

  // Idempotent. FailedPrecondition once closing.
  Status StartReading();
  void StopReading();
  // Queues `data`; the request owns the bytes until its callback.
  // FailedPrecondition unless kOpen.
  Status Write(Bytes data);
  // Bytes queued by Write and not yet handed to the kernel (0 once closed):
  // what a consumer that does not read leaves behind.
  size_t write_queue_bytes() const {
    return handle_.open() ? uv_stream_get_write_queue_size(handle_.stream()) : 0;
  }
  // Sends everything queued, then closes (OnClosed(OK)). Idempotent.
  void Shutdown();
  // Closes now, dropping queued writes; OnClosed(OK) follows. Idempotent.
  void Close() { CloseWith(Status::Ok()); }

 private:
  friend class PipeListener;
  explicit PipeConnection(Delegate* delegate) : delegate_(delegate) {}

  static void AllocCb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void ReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void WriteCb(uv_write_t* req, int status) noexcept;
  static void ShutdownCb(uv_shutdown_t* req, int status) noexcept;
  void CloseWith(Status reason);
  void CloseForLoop() noexcept override;
  void OnHandleClosed() noexcept override;

  Delegate* const delegate_;
  State state_ = State::kOpen;
  bool reading_ = false;
  Status close_reason_;
  internal::OwnedHandle<uv_pipe_t> handle_;
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
