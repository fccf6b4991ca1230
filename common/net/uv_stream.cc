#include "common/net/uv_stream.h"

#include <climits>
#include <memory>
#include <new>
#include <utility>

#include "common/net/uv_status.h"

namespace confab::net::internal {
namespace {

// One read buffer per loop thread, shared by every stream on it: libuv
// calls AllocCb and then ReadCb for one stream at a time, and OnRead consumes
// the bytes before it returns. Large, so that a busy stream (a file
// transfer) costs few read calls; shared, so that 20,000 idle sessions cost
// nothing.
constexpr size_t kReadBufferBytes = 256 * 1024;

char* ReadBuffer() {
  thread_local std::unique_ptr<char[]> buffer(new (std::nothrow) char[kReadBufferBytes]);
  return buffer.get();
}

// One write: the request and the bytes it points at, freed together in
// WriteCb on every path, UV_ECANCELED included (Part C #4, #5).
struct WriteReq {
  uv_write_t req{};
  Bytes data;
};

}  // namespace

UvStream::UvStream(StreamDelegate* delegate, State state, size_t high_water_bytes,
                   size_t low_water_bytes)
    : delegate_(delegate),
      high_water_bytes_(high_water_bytes),
      low_water_bytes_(low_water_bytes),
      state_(state) {}

// handle_'s destructor clears data and closes the handle if it is not
// closing already; pending requests then complete with UV_ECANCELED and free
// themselves without reaching us.
UvStream::~UvStream() = default;

Status UvStream::StartReading() {
  switch (state_) {
    case State::kConnecting:
      read_wanted_ = true;
      return Status::Ok();
    case State::kOpen:
    case State::kShuttingDown:
      read_wanted_ = true;
      return StartUvRead();
    case State::kClosing:
    case State::kClosed:
      break;
  }
  return Status::FailedPrecondition("connection is closed");
}

Status UvStream::StartUvRead() {
  if (reading_)
    return Status::Ok();
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_read_start(handle_.stream(), &AllocCb, &ReadCb), "uv_read_start"));
  reading_ = true;
  return Status::Ok();
}

void UvStream::StopReading() {
  read_wanted_ = false;
  if (reading_ && handle_.open())
    uv_read_stop(handle_.stream());
  reading_ = false;
}

Status UvStream::Write(Bytes data) {
  if (state_ != State::kOpen) {
    return Status::FailedPrecondition(state_ == State::kConnecting
                                          ? "connection is not established yet"
                                          : "connection is shutting down or closed");
  }
  if (data.empty())
    return Status::Ok();
  if (data.size() > UINT_MAX)
    return Status::InvalidArgument("write too large for one request");
  auto req = std::make_unique<WriteReq>();
  req->data = std::move(data);
  req->req.data = req.get();
  // uv_write copies the uv_buf_t itself; only the bytes must live on.
  const uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(req->data.data()),
                                   static_cast<unsigned>(req->data.size()));
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_write(&req->req, handle_.stream(), &buf, 1, &WriteCb), Doing("write", "to")));
  req.release();  // WriteCb owns it now
  if (write_queue_bytes() > high_water_bytes_)
    blocked_ = true;
  return Status::Ok();
}

size_t UvStream::write_queue_bytes() const {
  return handle_.open() ? uv_stream_get_write_queue_size(handle_.stream()) : 0;
}

void UvStream::Shutdown() {
  if (state_ == State::kConnecting) {
    CloseWith(Status::Ok());
    return;
  }
  if (state_ != State::kOpen)
    return;
  auto req = std::make_unique<uv_shutdown_t>();
  const int rc = uv_shutdown(req.get(), handle_.stream(), &ShutdownCb);
  if (rc < 0) {
    CloseWith(FromUv(rc, Doing("shutdown", "of")));
    return;
  }
  req.release();  // ShutdownCb owns it now
  state_ = State::kShuttingDown;
}

void UvStream::CloseWith(Status reason) {
  if (state_ == State::kClosing || state_ == State::kClosed)
    return;
  state_ = State::kClosing;
  close_reason_ = std::move(reason);
  reading_ = false;
  blocked_ = false;
  handle_.Close();  // cancels queued writes and a pending connect or shutdown
}

void UvStream::CloseForLoop() noexcept {
  CloseWith(Status::Closed("the loop is closing"));
}

void UvStream::OnHandleClosed() noexcept {
  handle_.Forget();
  state_ = State::kClosed;
  delegate_->OnClosed(close_reason_);  // last: the delegate may destroy us
}

std::string UvStream::Doing(std::string_view verb, std::string_view preposition) const {
  std::string what(verb);
  if (!remote_.empty()) {
    what += ' ';
    what += preposition;
    what += ' ';
    what += remote_;
  }
  return what;
}

void UvStream::ConnectCb(uv_connect_t* req, int status) noexcept {
  std::unique_ptr<uv_connect_t> owned(req);
  UvStream* self = OwnerOf<UvStream>(req->handle);
  // Gone, or closing (then status is UV_ECANCELED and OnClosed is coming).
  if (self == nullptr || self->state_ != State::kConnecting)
    return;
  if (status < 0) {
    self->CloseWith(FromUv(status, self->Doing("connect", "to")));
    return;
  }
  self->state_ = State::kOpen;
  if (self->read_wanted_) {
    if (Status started = self->StartUvRead(); !started.ok()) {
      self->CloseWith(std::move(started));
      return;
    }
  }
  self->delegate_->OnConnected();  // last: the delegate may destroy us
}

void UvStream::AllocCb(uv_handle_t* /*handle*/, size_t /*suggested*/, uv_buf_t* buf) noexcept {
  // No closing or stopping here (Part C #10). A null base makes libuv report
  // UV_ENOBUFS to ReadCb, which closes.
  char* base = ReadBuffer();
  *buf = uv_buf_init(base, base == nullptr ? 0 : kReadBufferBytes);
}

void UvStream::ReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  // buf->base is the thread's ReadBuffer(): nothing to free.
  UvStream* self = OwnerOf<UvStream>(stream);
  if (self == nullptr)
    return;
  if (nread > 0) {
    self->delegate_->OnRead(
        ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)));
    return;  // the upcall was last
  }
  if (nread == 0)
    return;  // EAGAIN: nothing read, not an end (Part C #9)
  self->CloseWith(nread == UV_EOF ? Status::Closed(self->end_message_)
                                  : FromUv(static_cast<int>(nread), self->Doing("read", "from")));
}

void UvStream::WriteCb(uv_write_t* req, int status) noexcept {
  uv_stream_t* stream = req->handle;  // still valid: close callbacks run after this
  delete static_cast<WriteReq*>(req->data);
  UvStream* self = OwnerOf<UvStream>(stream);
  if (self == nullptr || self->state_ == State::kClosing || self->state_ == State::kClosed)
    return;
  if (status < 0) {
    self->CloseWith(FromUv(status, self->Doing("write", "to")));
    return;
  }
  if (self->state_ == State::kOpen && self->blocked_ &&
      self->write_queue_bytes() <= self->low_water_bytes_) {
    self->blocked_ = false;
    self->delegate_->OnWritable();  // last: the delegate may destroy us
  }
}

void UvStream::ShutdownCb(uv_shutdown_t* req, int status) noexcept {
  uv_stream_t* stream = req->handle;
  delete req;
  UvStream* self = OwnerOf<UvStream>(stream);
  if (self == nullptr)
    return;
  // UV_ECANCELED means Close() overtook us; CloseWith then does nothing.
  self->CloseWith(status < 0 ? FromUv(status, self->Doing("shutdown", "of")) : Status::Ok());
}

}  // namespace confab::net::internal
