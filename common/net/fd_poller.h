// FdPoller: tells its delegate when a file descriptor it does not own has
// something to read (uv_poll_t), for code that must do the reading itself:
// GNU readline's callback interface reads the terminal with its own read(),
// so the loop only says when (rl_callback_read_char on each OnReadable).
//
// Lifetime: the delegate must outlive the poller, and `fd` must stay open
// while it polls. The poller may be destroyed at any time, OnReadable
// included; no upcall follows destruction or Close().
#pragma once

#include <memory>

#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/handle.h"
#include "common/net/loop.h"

namespace confab::net {

class FdPoller final : public internal::HandleOwner {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // `fd` is readable (or at end, or in error: the read says which). Read
    // at least once, or the loop calls again at once.
    virtual void OnReadable() = 0;
  };

  // Polls `fd` for reading from now on. FailedPrecondition if the loop is
  // closing; the uv_poll_init/uv_poll_start error otherwise (for a regular
  // file, which cannot be polled, among others).
  static Result<std::unique_ptr<FdPoller>> Create(Loop& loop, int fd, Delegate* delegate);
  ~FdPoller() override = default;

  // Stops polling; no upcall follows. Idempotent. Also done by Loop::Close.
  void Close() { handle_.Close(); }

 private:
  explicit FdPoller(Delegate* delegate) : delegate_(delegate) {}
  static void PollCb(uv_poll_t* handle, int status, int events) noexcept;
  void CloseForLoop() noexcept override { Close(); }
  void OnHandleClosed() noexcept override { handle_.Forget(); }

  Delegate* const delegate_;
  internal::OwnedHandle<uv_poll_t> handle_;
};

}  // namespace confab::net
