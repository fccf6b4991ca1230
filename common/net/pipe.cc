#include "common/net/pipe.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <utility>

namespace confab::net {

// ---- PipeConnection -------------------------------------------------------

PipeConnection::PipeConnection(StreamDelegate* delegate)
    : UvStream(delegate, State::kOpen, internal::kDefaultHighWaterBytes,
               internal::kDefaultLowWaterBytes) {}

Result<std::unique_ptr<PipeConnection>> PipeConnection::AcceptFrom(Loop& loop, uv_stream_t* server,
                                                                   StreamDelegate* delegate) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<PipeConnection> conn(new PipeConnection(delegate));
  CONFAB_RETURN_IF_ERROR(conn->InitHandle<uv_pipe_t>(
      [&](uv_pipe_t* h) { return uv_pipe_init(loop.get(), h, 0); }, "uv_pipe_init"));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_accept(server, conn->stream()), "accept"));
  return conn;
}

// ---- PipeListener ---------------------------------------------------------

Result<std::unique_ptr<PipeListener>> PipeListener::Create(Loop& loop, const std::string& path,
                                                           Delegate* delegate, int backlog) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path))
    return Status::InvalidArgument("socket path empty or too long: " + path);
  std::unique_ptr<PipeListener> listener(new PipeListener(loop, delegate));
  listener->path_ = path;
  CONFAB_RETURN_IF_ERROR(listener->handle_.Init(
      listener.get(), [&](uv_pipe_t* h) { return uv_pipe_init(loop.get(), h, 0); },
      "uv_pipe_init"));
  // The umask narrows the mode from the moment the file exists; the chmod
  // below makes it exact whatever the umask was.
  const mode_t old_mask = umask(0077);
  const int rc = uv_pipe_bind(listener->handle_.get(), path.c_str());
  umask(old_mask);
  CONFAB_RETURN_IF_ERROR(FromUv(rc, "bind " + path));
  listener->bound_ = true;
  if (chmod(path.c_str(), 0600) != 0)
    return Status::IoError("chmod 0600 " + path);
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_listen(listener->handle_.stream(), backlog, &ConnectionCb), "listen on " + path));
  return listener;
}

PipeListener::~PipeListener() {
  if (bound_)
    (void)unlink(path_.c_str());
}

Result<std::unique_ptr<PipeConnection>> PipeListener::Accept(PipeConnection::Delegate* delegate) {
  if (!handle_.open())
    return Status::FailedPrecondition("listener is closed");
  return PipeConnection::AcceptFrom(loop_, handle_.stream(), delegate);
}

void PipeListener::ConnectionCb(uv_stream_t* server, int status) noexcept {
  PipeListener* self = internal::OwnerOf<PipeListener>(server);
  if (self == nullptr)
    return;
  self->delegate_->OnIncoming(FromUv(status, "accept"));  // last: may destroy the listener
}

}  // namespace confab::net
