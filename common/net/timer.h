// Timer: a one-shot or repeating uv_timer_t with one delegate.
//
// Lifetime: the delegate must outlive the Timer. The Timer may be destroyed
// at any time, OnTimer included; no upcall happens after destruction.
#pragma once

#include <cstdint>
#include <memory>

#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/handle.h"
#include "common/net/loop.h"

namespace confab::net {

class Timer final : public internal::HandleOwner {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // The timer fired. May Stop, Start, Close or destroy the Timer.
    virtual void OnTimer() = 0;
  };

  // FailedPrecondition if the loop is closing; the uv_timer_init error.
  static Result<std::unique_ptr<Timer>> Create(Loop& loop, Delegate* delegate);
  ~Timer() override = default;

  // (Re)arms: OnTimer after `timeout_ms`, then every `repeat_ms` if non-zero.
  // FailedPrecondition once closed.
  Status Start(uint64_t timeout_ms, uint64_t repeat_ms = 0);
  // Disarms; no-op when idle or closed.
  void Stop();
  bool active() const;
  // Idempotent; no upcall follows. Also done by Loop::Close.
  void Close() { handle_.Close(); }

 private:
  explicit Timer(Delegate* delegate) : delegate_(delegate) {}
  static void TimerCb(uv_timer_t* handle) noexcept;
  void CloseForLoop() noexcept override { Close(); }
  void OnHandleClosed() noexcept override { handle_.Forget(); }

  Delegate* const delegate_;
  internal::OwnedHandle<uv_timer_t> handle_;
};

}  // namespace confab::net
