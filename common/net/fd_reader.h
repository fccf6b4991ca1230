// FdReader: reads an inherited file descriptor that is a pipe, a socket or
// a terminal (a tool's stdin) on the loop, as a uv_pipe_t or uv_tty_t.
//
// Events reach one Delegate, each as the last thing the callback does:
//   OnRead   bytes arrived; `data` is valid only during the call, never empty
//   OnEnd    the input ended, exactly once, after which nothing more is
//            read and the handle is closing: Closed at end of file, or the
//            read error (FromUv)
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
#include "common/net/handle.h"
#include "common/net/loop.h"

namespace confab::net {

class FdReader final : public internal::HandleOwner {
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
  void Close();

 private:
  explicit FdReader(Delegate* delegate) : delegate_(delegate) {}
  uv_stream_t* stream() const { return pipe_.get() ? pipe_.stream() : tty_.stream(); }
  static void AllocCb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void ReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  void CloseForLoop() noexcept override { Close(); }
  void OnHandleClosed() noexcept override;

  Delegate* const delegate_;
  // Exactly one is initialised, by the kind of descriptor.
  internal::OwnedHandle<uv_pipe_t> pipe_;
  internal::OwnedHandle<uv_tty_t> tty_;
};

}  // namespace confab::net
