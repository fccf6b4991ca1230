// FdReader: reads an inherited file descriptor that is a pipe, a socket or
// a terminal (a tool's stdin) on the loop, as a uv_pipe_t or uv_tty_t.
//
// Events reach one Delegate, each as the last thing the callback does:
//   OnRead   bytes arrived; `data` is valid only during the call, never empty
//   OnEnd    the input ended, exactly once unless Close() or the Loop closed
//            the reader first: Closed at end of file, or the read error
//            (FromUv). It comes from the close callback, once nothing more
//            can be read.
//
// The reader owns `fd` from a successful Create on: libuv closes it with
// the handle, except 0, 1 and 2 (stdio stays open). libuv may switch it to
// non-blocking mode.
//
// Lifetime: the delegate must outlive the reader. The reader may be
// destroyed at any time, from its own upcalls included; no upcall follows.
#pragma once

#include <memory>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/byte_stream.h"
#include "common/net/loop.h"
#include "common/net/uv_stream.h"

namespace confab::net {

// Privately a UvStream (uv_stream.h), which reads for it and owns the one
// handle; privately its own StreamDelegate, which turns the stream's
// OnClosed into OnEnd.
class FdReader final : private internal::UvStream, private StreamDelegate {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    virtual void OnRead(ByteView data) = 0;
    virtual void OnEnd(Status status) = 0;
  };

  // Starts reading `fd` at once. FailedPrecondition if the loop is closing;
  // InvalidArgument when `fd` is a regular file or not open (libuv cannot
  // poll those); the uv_*_init/uv_read_start error otherwise.
  static Result<std::unique_ptr<FdReader>> Create(Loop& loop, int fd, Delegate* delegate);
  ~FdReader() override = default;

  // Stops reading and closes the handle; no upcall follows. Idempotent.
  // (It overrides the private ByteStream::Close too.)
  void Close() override;

 private:
  explicit FdReader(Delegate* delegate);
  // As Close(): the loop closing is no end of input to report.
  void CloseForLoop() noexcept override { Close(); }

  // StreamDelegate: no connect and no writes here.
  void OnConnected() override {}
  void OnRead(ByteView data) override { delegate_->OnRead(data); }  // last
  void OnWritable() override {}
  void OnClosed(Status status) override;

  Delegate* const delegate_;
  bool closed_by_owner_ = false;  // Close() or the loop: no OnEnd
};

}  // namespace confab::net
