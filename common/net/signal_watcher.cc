#include "common/net/signal_watcher.h"

#include <string>

namespace confab::net {

Result<std::unique_ptr<SignalWatcher>> SignalWatcher::Create(Loop& loop, int signum,
                                                             Delegate* delegate) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<SignalWatcher> watcher(new SignalWatcher(signum, delegate));
  CONFAB_RETURN_IF_ERROR(watcher->handle_.Init(
      watcher.get(), [&](uv_signal_t* h) { return uv_signal_init(loop.get(), h); },
      "uv_signal_init"));
  // On failure the unique_ptr closes the initialised handle.
  CONFAB_RETURN_IF_ERROR(FromUv(uv_signal_start(watcher->handle_.get(), &SignalCb, signum),
                                "watching signal " + std::to_string(signum)));
  return watcher;
}

void SignalWatcher::SignalCb(uv_signal_t* handle, int signum) noexcept {
  SignalWatcher* self = internal::OwnerOf<SignalWatcher>(handle);
  if (self == nullptr)
    return;
  self->delegate_->OnSignal(signum);  // last: it may destroy the watcher
}

}  // namespace confab::net
