// TcpConnection: one TCP stream, outbound (Connect) or accepted
// (TcpListener::Accept), owning its uv_tcp_t as STYLE.md A4 and Part C say.
//
// Events reach one Delegate, each as the last thing the callback does:
//   OnConnected   an outbound connection is established (never for accepted)
//   OnRead        bytes arrived (only between StartReading and StopReading)
//   OnWritable    want_write() turned true again (backpressure cleared)
//   OnClosed      the handle is closed; exactly once, unless the connection
//                 is destroyed first. Its Status says why:
//                   OK           Close() or a completed Shutdown()
//                   Closed       the peer closed (EOF) or reset, or the Loop
//                                closed the connection in Loop::Close()
//                   Unavailable  connect refused, timed out, unreachable
//                   other        a read, write or shutdown error (FromUv)
//
// Lifetime: the delegate must outlive the connection (or at least its
// OnClosed). Destroy the connection from OnClosed (A4.5), which runs on a
// fresh stack; destroying it anywhere else is also memory-safe: the handle
// closes itself, queued writes are cancelled and freed, and no upcall
// follows. Close() only starts closing, so it is safe from any callback.
//
// Writes and backpressure (Part C #4-#7): Write() takes the bytes by value;
// each write request owns them until its callback, which frees them on every
// path. Bytes libuv could not hand to the kernel at once wait in the write
// queue. When it grows past `high_water_bytes`, want_write() turns false;
// producers should stop until OnWritable(), which comes when the queue has
// drained to `low_water_bytes`. Write() itself never refuses for size: the
// limit is the caller's to respect.
//
// Inbound backpressure (Part C #8): StopReading() and TCP flow control.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/address.h"
#include "common/net/byte_stream.h"
#include "common/net/handle.h"
#include "common/net/loop.h"

namespace confab::net {

// Write-queue marks for backpressure; see above. (Outside the class so that
// it can be a default argument of the class's own functions.)
struct TcpConnectionOptions {
  size_t high_water_bytes = 1 << 20;
  size_t low_water_bytes = 256 << 10;  // must not exceed high_water_bytes
  // Connect only: the local address to bind before connecting (port 0 lets
  // the kernel choose the port). Unset: the kernel chooses both. Load tests
  // bind to many 127.x.y.z addresses to get past one address's ephemeral
  // ports. Must be of the same family as the destination.
  std::optional<Address> bind_local;
};

class TcpConnection final : public internal::HandleOwner, public ByteStream {
 public:
  using Delegate = StreamDelegate;

  using Options = TcpConnectionOptions;

  enum class State {
    kConnecting,    // outbound, not yet established
    kOpen,          // reads and writes allowed
    kShuttingDown,  // Shutdown() flushing queued writes; reads still allowed
    kClosing,       // uv_close called; OnClosed to come
    kClosed,        // OnClosed delivered
  };

  // Starts connecting; OnConnected or OnClosed(error) follows. Returns an
  // error only for what fails at once: InvalidArgument for bad Options (a
  // bind_local of another family than `to`), FailedPrecondition if the loop
  // is closing, a uv_tcp_init/bind/connect error (e.g. an address that is
  // not local).
  // A refused connection is reported through OnClosed (Unavailable).
  static Result<std::unique_ptr<TcpConnection>> Connect(Loop& loop, const Address& to,
                                                        Delegate* delegate, Options options = {});
  ~TcpConnection() override;

  State state() const { return state_; }

  // ByteStream
  void set_delegate(StreamDelegate* delegate) override { delegate_ = delegate; }
  bool is_open() const override { return state_ == State::kOpen; }

  // Idempotent. Before the connection is established this only records the
  // wish; reading starts on connect. FailedPrecondition once closing.
  Status StartReading() override;
  void StopReading() override;

  // Queues `data` (empty is a no-op). FailedPrecondition unless kOpen; the
  // uv_write error otherwise (the connection is left for the caller to close).
  Status Write(Bytes data) override;
  // False while the write queue is above the high-water mark, or when the
  // connection is not kOpen.
  bool want_write() const override { return state_ == State::kOpen && !blocked_; }
  size_t write_queue_bytes() const override;

  // Sends everything queued, then closes: OnClosed(OK) once the kernel has
  // the data (or the shutdown error). Data the peer sends meanwhile is still
  // delivered if reading. Before connecting, the same as Close(). Idempotent.
  void Shutdown() override;
  // Closes now: queued writes are dropped (Part C #6). OnClosed(OK) follows
  // unless the connection was already closing for another reason. Idempotent.
  void Close() override { CloseWith(Status::Ok()); }

  // The kernel's view of the two ends. FailedPrecondition once closing; the
  // uv error (e.g. not connected yet) otherwise.
  Result<Address> peer_address() const;
  Result<Address> local_address() const;

 private:
  friend class TcpListener;
  TcpConnection(Delegate* delegate, const Options& options, State state);
  static Status CheckOptions(const Options& options);
  // For TcpListener::Accept: takes the pending connection off `server`.
  static Result<std::unique_ptr<TcpConnection>> AcceptFrom(Loop& loop, uv_stream_t* server,
                                                           Delegate* delegate, Options options);

  static void ConnectCb(uv_connect_t* req, int status) noexcept;
  static void AllocCb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void ReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void WriteCb(uv_write_t* req, int status) noexcept;
  static void ShutdownCb(uv_shutdown_t* req, int status) noexcept;

  // Starts closing with `reason` for OnClosed, unless already closing.
  void CloseWith(Status reason);
  Status StartUvRead();
  void CloseForLoop() noexcept override;
  void OnHandleClosed() noexcept override;

  Delegate* delegate_;
  // Only the marks are kept: bind_local is used once, in Connect, and every
  // accepted connection would otherwise carry its sockaddr_storage.
  const size_t high_water_bytes_;
  const size_t low_water_bytes_;
  State state_;
  bool read_wanted_ = false;  // StartReading called (maybe before connect)
  bool reading_ = false;      // uv_read_start in effect
  bool blocked_ = false;      // above the high-water mark since the last OnWritable
  Status close_reason_;
  std::string remote_;  // for messages: the address we connected to
  internal::OwnedHandle<uv_tcp_t> handle_;
};

}  // namespace confab::net
