// Internal: the uv_stream_t lifecycle, written once for TcpConnection,
// PipeConnection and FdReader (STYLE.md A4 and Part C). Not for use outside
// common/net; the classes built on it state their own events in their
// headers, and the calls below are theirs.
//
// A UvStream owns one stream handle (OwnedHandle, handle.h) and implements
// ByteStream over it: reading into one buffer shared by the loop thread,
// writes that own their bytes, write-queue marks, shutdown, and a close
// whose OnClosed comes from the close callback. The layer above allocates
// the handle (InitHandle), sets it up (connect, accept, open an fd) and
// adds what only it knows (addresses, options).
//
// Every upcall is the last thing its callback does, so the delegate may
// destroy the stream in any of them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <uv.h>

#include "common/base/bytes.h"
#include "common/base/status.h"
#include "common/net/byte_stream.h"
#include "common/net/handle.h"

namespace confab::net::internal {

// The write-queue marks a stream gets unless its user asks for others.
inline constexpr size_t kDefaultHighWaterBytes = 1 << 20;
inline constexpr size_t kDefaultLowWaterBytes = 256 << 10;

class UvStream : public HandleOwner, public ByteStream {
 public:
  enum class State {
    kConnecting,    // outbound, not yet established
    kOpen,          // reads and writes allowed
    kShuttingDown,  // Shutdown() flushing queued writes; reads still allowed
    kClosing,       // uv_close called; OnClosed to come
    kClosed,        // OnClosed delivered
  };

  // The handle closes itself; queued writes are cancelled and freed, and no
  // upcall follows.
  ~UvStream() override;

  State state() const { return state_; }

  // ByteStream
  void set_delegate(StreamDelegate* delegate) override { delegate_ = delegate; }
  bool is_open() const override { return state_ == State::kOpen; }

  // Idempotent. While connecting this only records the wish; reading starts
  // on connect. FailedPrecondition once closing; the uv_read_start error.
  Status StartReading() override;
  void StopReading() override;

  // Queues `data` (empty is a no-op). FailedPrecondition unless kOpen;
  // InvalidArgument above UINT_MAX bytes; the uv_write error otherwise
  // (the stream is left for the caller to close).
  Status Write(Bytes data) override;
  // False while the write queue is above the high-water mark, or when the
  // stream is not kOpen.
  bool want_write() const override { return state_ == State::kOpen && !blocked_; }
  // Bytes queued and not yet handed to the kernel (0 once closing).
  size_t write_queue_bytes() const override;

  // Sends everything queued, then closes: OnClosed(OK) once the kernel has
  // the data (or the shutdown error). Data the peer sends meanwhile is still
  // delivered if reading. While connecting, the same as Close(). Idempotent.
  void Shutdown() override;
  // Closes now: queued writes are dropped (Part C #6). OnClosed(OK) follows
  // unless the stream was already closing for another reason. Idempotent.
  void Close() override { CloseWith(Status::Ok()); }

 protected:
  // `low_water_bytes` must not exceed `high_water_bytes` (the layer checks
  // what its users pass). `state` is kConnecting or kOpen.
  UvStream(StreamDelegate* delegate, State state, size_t high_water_bytes, size_t low_water_bytes);

  // Allocates the handle as a `H` (uv_tcp_t, uv_pipe_t or uv_tty_t) and runs
  // `init` on it; see OwnedHandle::Init. Once, before any other call.
  template <typename H, typename InitFn>
  Status InitHandle(InitFn init, const char* what) {
    return handle_.Init<H>(this, init, what);
  }
  template <typename H>
  H* handle() const {
    return handle_.as<H>();
  }
  uv_stream_t* stream() const { return handle_.get(); }
  // Initialised and not closing.
  bool handle_open() const { return handle_.open(); }

  // The far end, for error messages ("write to <remote>"); empty: none.
  void set_remote(std::string remote) { remote_ = std::move(remote); }
  const std::string& remote() const { return remote_; }
  // The message of the Closed status an orderly end of the input gives.
  void set_end_message(const char* message) { end_message_ = message; }

  // For the layer's uv_*_connect on this handle (kConnecting): OnConnected
  // or OnClosed(the connect error) follows.
  static void ConnectCb(uv_connect_t* req, int status) noexcept;

  // Starts closing with `reason` for OnClosed, unless already closing.
  void CloseWith(Status reason);
  // The Loop is closing: OnClosed(Closed) follows.
  void CloseForLoop() noexcept override;

 private:
  static void AllocCb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void ReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void WriteCb(uv_write_t* req, int status) noexcept;
  static void ShutdownCb(uv_shutdown_t* req, int status) noexcept;

  Status StartUvRead();
  void OnHandleClosed() noexcept override;
  // "write to <remote>", or just "write" when the far end has no name.
  std::string Doing(std::string_view verb, std::string_view preposition) const;

  StreamDelegate* delegate_;
  const size_t high_water_bytes_;
  const size_t low_water_bytes_;
  State state_;
  bool read_wanted_ = false;  // StartReading called (maybe before connect)
  bool reading_ = false;      // uv_read_start in effect
  bool blocked_ = false;      // above the high-water mark since the last OnWritable
  const char* end_message_ = "peer closed the connection";
  Status close_reason_;
  std::string remote_;
  OwnedHandle<uv_stream_t> handle_;
};

}  // namespace confab::net::internal
