#include "common/net/fd_poller.h"

namespace confab::net {

Result<std::unique_ptr<FdPoller>> FdPoller::Create(Loop& loop, int fd, Delegate* delegate) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<FdPoller> poller(new FdPoller(delegate));
  CONFAB_RETURN_IF_ERROR(poller->handle_.Init(
      poller.get(), [&](uv_poll_t* h) { return uv_poll_init(loop.get(), h, fd); }, "uv_poll_init"));
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_poll_start(poller->handle_.get(), UV_READABLE, &PollCb), "uv_poll_start"));
  return poller;
}

void FdPoller::PollCb(uv_poll_t* handle, int /*status*/, int /*events*/) noexcept {
  FdPoller* self = internal::OwnerOf<FdPoller>(handle);
  if (self == nullptr)
    return;
  // An error status (e.g. the terminal hung up) is also "go and read": the
  // read reports it in the delegate's own terms.
  self->delegate_->OnReadable();  // last: it may destroy the poller
}

}  // namespace confab::net
