#include "common/net/pipe.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <climits>
#include <new>
#include <utility>

namespace confab::net {
namespace {

constexpr size_t kReadBufferBytes = 16 * 1024;

// One write and the bytes it points at, freed together in WriteCb on every
// path, UV_ECANCELED included (Part C #4, #5).
struct WriteReq {
  uv_write_t req{};
  Bytes data;
};

}  // namespace

// ---- PipeConnection -------------------------------------------------------

Status PipeConnection::StartReading() {
  if (state_ == State::kClosing || state_ == State::kClosed)
    return Status::FailedPrecondition("connection is closed");
  if (reading_)
    return Status::Ok();
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_read_start(handle_.stream(), &AllocCb, &ReadCb), "uv_read_start"));
  reading_ = true;
  return Status::Ok();
}

void PipeConnection::StopReading() {
  if (reading_ && handle_.open())
    uv_read_stop(handle_.stream());
  reading_ = false;
}

Status PipeConnection::Write(Bytes data) {
  if (state_ != State::kOpen)
    return Status::FailedPrecondition("connection is shutting down or closed");
  if (data.empty())
    return Status::Ok();
  if (data.size() > UINT_MAX)
    return Status::InvalidArgument("write too large for one request");
  auto req = std::make_unique<WriteReq>();
  req->data = std::move(data);
  req->req.data = req.get();
  const uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(req->data.data()),
                                   static_cast<unsigned>(req->data.size()));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_write(&req->req, handle_.stream(), &buf, 1, &WriteCb), "write"));
  req.release();  // WriteCb owns it now
  return Status::Ok();
}

void PipeConnection::Shutdown() {
  if (state_ != State::kOpen)
    return;
  auto req = std::make_unique<uv_shutdown_t>();
  const int rc = uv_shutdown(req.get(), handle_.stream(), &ShutdownCb);
  if (rc < 0) {
    CloseWith(FromUv(rc, "shutdown"));
    return;
  }
  req.release();  // ShutdownCb owns it now
  state_ = State::kShuttingDown;
}

void PipeConnection::CloseWith(Status reason) {
  if (state_ == State::kClosing || state_ == State::kClosed)
    return;
  state_ = State::kClosing;
  close_reason_ = std::move(reason);
  reading_ = false;
  handle_.Close();
}

void PipeConnection::CloseForLoop() noexcept {
  CloseWith(Status::Closed("the loop is closing"));
}

void PipeConnection::OnHandleClosed() noexcept {
  handle_.Forget();
  state_ = State::kClosed;
  delegate_->OnClosed(close_reason_);  // last: the delegate may destroy us
}

void PipeConnection::AllocCb(uv_handle_t* /*handle*/, size_t /*suggested*/,
                             uv_buf_t* buf) noexcept {
  // A null base makes libuv report UV_ENOBUFS to ReadCb, which closes.
  char* base = new (std::nothrow) char[kReadBufferBytes];
  *buf = uv_buf_init(base, base == nullptr ? 0 : kReadBufferBytes);
}

void PipeConnection::ReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  std::unique_ptr<char[]> owned(buf->base);
  PipeConnection* self = internal::OwnerOf<PipeConnection>(stream);
  if (self == nullptr)
    return;
  if (nread > 0) {
    self->delegate_->OnRead(
        ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)));
    return;  // the upcall was last
  }
  if (nread == 0)
    return;  // EAGAIN (Part C #9)
  self->CloseWith(nread == UV_EOF ? Status::Closed("peer closed the connection")
                                  : FromUv(static_cast<int>(nread), "read"));
}

void PipeConnection::WriteCb(uv_write_t* req, int status) noexcept {
  uv_stream_t* stream = req->handle;
  delete static_cast<WriteReq*>(req->data);
  PipeConnection* self = internal::OwnerOf<PipeConnection>(stream);
  if (self == nullptr || self->state_ == State::kClosing || self->state_ == State::kClosed)
    return;
  if (status < 0)
    self->CloseWith(FromUv(status, "write"));
}

void PipeConnection::ShutdownCb(uv_shutdown_t* req, int status) noexcept {
  uv_stream_t* stream = req->handle;
  delete req;
  PipeConnection* self = internal::OwnerOf<PipeConnection>(stream);
  if (self == nullptr)
    return;
  self->CloseWith(status < 0 ? FromUv(status, "shutdown") : Status::Ok());
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
  CONFAB_RETURN_IF_ERROR(loop_.CheckOpen());
  std::unique_ptr<PipeConnection> conn(new PipeConnection(delegate));
  CONFAB_RETURN_IF_ERROR(conn->handle_.Init(
      conn.get(), [&](uv_pipe_t* h) { return uv_pipe_init(loop_.get(), h, 0); }, "uv_pipe_init"));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_accept(handle_.stream(), conn->handle_.stream()), "accept"));
  return conn;
}

void PipeListener::ConnectionCb(uv_stream_t* server, int status) noexcept {
  PipeListener* self = internal::OwnerOf<PipeListener>(server);
  if (self == nullptr)
    return;
  self->delegate_->OnIncoming(FromUv(status, "accept"));  // last: may destroy the listener
}

}  // namespace confab::net
