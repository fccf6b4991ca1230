// SignalWatcher: delivers one signal (SIGINT, SIGTERM, ...) on the loop
// thread, where it is safe to start an orderly shutdown.
//
// Lifetime: the delegate must outlive the watcher. The watcher may be
// destroyed at any time, OnSignal included; no upcall follows destruction.
#pragma once

#include <memory>

#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/handle.h"
#include "common/net/loop.h"

namespace confab::net {

class SignalWatcher final : public internal::HandleOwner {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // `signum` arrived (possibly coalesced with earlier deliveries).
    virtual void OnSignal(int signum) = 0;
  };

  // Starts watching `signum` at once. FailedPrecondition if the loop is
  // closing; the uv_signal_init/uv_signal_start error (InvalidArgument for a
  // bad signal number).
  static Result<std::unique_ptr<SignalWatcher>> Create(Loop& loop, int signum, Delegate* delegate);
  ~SignalWatcher() override = default;

  int signum() const { return signum_; }
  // Idempotent; restores the default disposition once no watcher remains.
  void Close() { handle_.Close(); }

 private:
  SignalWatcher(int signum, Delegate* delegate) : signum_(signum), delegate_(delegate) {}
  static void SignalCb(uv_signal_t* handle, int signum) noexcept;
  void CloseForLoop() noexcept override { Close(); }
  void OnHandleClosed() noexcept override { handle_.Forget(); }

  const int signum_;
  Delegate* const delegate_;
  internal::OwnedHandle<uv_signal_t> handle_;
};

}  // namespace confab::net
