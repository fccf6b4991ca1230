#include "common/net/timer.h"

namespace confab::net {

Result<std::unique_ptr<Timer>> Timer::Create(Loop& loop, Delegate* delegate) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<Timer> timer(new Timer(delegate));
  CONFAB_RETURN_IF_ERROR(timer->handle_.Init(
      timer.get(), [&](uv_timer_t* h) { return uv_timer_init(loop.get(), h); }, "uv_timer_init"));
  return timer;
}

Status Timer::Start(uint64_t timeout_ms, uint64_t repeat_ms) {
  if (!handle_.open())
    return Status::FailedPrecondition("timer is closed");
  return FromUv(uv_timer_start(handle_.get(), &TimerCb, timeout_ms, repeat_ms), "uv_timer_start");
}

void Timer::Stop() {
  if (handle_.open())
    uv_timer_stop(handle_.get());
}

bool Timer::active() const {
  return handle_.open() && uv_is_active(handle_.base()) != 0;
}

void Timer::TimerCb(uv_timer_t* handle) noexcept {
  Timer* self = internal::OwnerOf<Timer>(handle);
  if (self == nullptr)
    return;
  self->delegate_->OnTimer();  // last: it may destroy the timer
}

}  // namespace confab::net
