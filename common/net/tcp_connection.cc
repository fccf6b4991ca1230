#include "common/net/tcp_connection.h"

#include <climits>
#include <new>
#include <utility>

namespace confab::net {
namespace {

// One read buffer per loop thread, shared by every connection on it: libuv
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

TcpConnection::TcpConnection(Delegate* delegate, const Options& options, State state)
    : delegate_(delegate),
      high_water_bytes_(options.high_water_bytes),
      low_water_bytes_(options.low_water_bytes),
      state_(state) {}

// handle_'s destructor clears data and closes the handle if it is not
// closing already; pending requests then complete with UV_ECANCELED and free
// themselves without reaching us.
TcpConnection::~TcpConnection() = default;

Status TcpConnection::CheckOptions(const Options& options) {
  if (options.low_water_bytes > options.high_water_bytes)
    return Status::InvalidArgument("low-water mark above the high-water mark");
  return Status::Ok();
}

Result<std::unique_ptr<TcpConnection>> TcpConnection::Connect(Loop& loop, const Address& to,
                                                              Delegate* delegate, Options options) {
  CONFAB_RETURN_IF_ERROR(CheckOptions(options));
  if (options.bind_local && options.bind_local->family() != to.family()) {
    return Status::InvalidArgument("bind_local " + options.bind_local->ToString() + " and " +
                                   to.ToString() + " are of different families");
  }
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<TcpConnection> conn(new TcpConnection(delegate, options, State::kConnecting));
  conn->remote_ = to.ToString();
  CONFAB_RETURN_IF_ERROR(conn->handle_.Init(
      conn.get(), [&](uv_tcp_t* h) { return uv_tcp_init(loop.get(), h); }, "uv_tcp_init"));
  // Frames are small and latency matters more than packet count.
  CONFAB_RETURN_IF_ERROR(FromUv(uv_tcp_nodelay(conn->handle_.get(), 1), "uv_tcp_nodelay"));
  if (options.bind_local) {
    CONFAB_RETURN_IF_ERROR(
        FromUv(uv_tcp_bind(conn->handle_.get(), options.bind_local->sockaddr_ptr(), 0),
               "bind to " + options.bind_local->ToString()));
  }
  auto req = std::make_unique<uv_connect_t>();
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_tcp_connect(req.get(), conn->handle_.get(), to.sockaddr_ptr(), &ConnectCb),
             "connect to " + conn->remote_));
  req.release();  // ConnectCb owns it now
  return conn;
}

Result<std::unique_ptr<TcpConnection>> TcpConnection::AcceptFrom(Loop& loop, uv_stream_t* server,
                                                                 Delegate* delegate,
                                                                 Options options) {
  CONFAB_RETURN_IF_ERROR(CheckOptions(options));
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<TcpConnection> conn(new TcpConnection(delegate, options, State::kOpen));
  CONFAB_RETURN_IF_ERROR(conn->handle_.Init(
      conn.get(), [&](uv_tcp_t* h) { return uv_tcp_init(loop.get(), h); }, "uv_tcp_init"));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_accept(server, conn->handle_.stream()), "accept"));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_tcp_nodelay(conn->handle_.get(), 1), "uv_tcp_nodelay"));
  if (Result<Address> peer = conn->peer_address(); peer.ok())
    conn->remote_ = peer->ToString();
  return conn;
}

Status TcpConnection::StartReading() {
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

Status TcpConnection::StartUvRead() {
  if (reading_)
    return Status::Ok();
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_read_start(handle_.stream(), &AllocCb, &ReadCb), "uv_read_start"));
  reading_ = true;
  return Status::Ok();
}

void TcpConnection::StopReading() {
  read_wanted_ = false;
  if (reading_ && handle_.open())
    uv_read_stop(handle_.stream());
  reading_ = false;
}

Status TcpConnection::Write(Bytes data) {
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
      FromUv(uv_write(&req->req, handle_.stream(), &buf, 1, &WriteCb), "write to " + remote_));
  req.release();  // WriteCb owns it now
  if (write_queue_bytes() > high_water_bytes_)
    blocked_ = true;
  return Status::Ok();
}

size_t TcpConnection::write_queue_bytes() const {
  return handle_.open() ? uv_stream_get_write_queue_size(handle_.stream()) : 0;
}

void TcpConnection::Shutdown() {
  if (state_ == State::kConnecting) {
    Close();
    return;
  }
  if (state_ != State::kOpen)
    return;
  auto req = std::make_unique<uv_shutdown_t>();
  const int rc = uv_shutdown(req.get(), handle_.stream(), &ShutdownCb);
  if (rc < 0) {
    CloseWith(FromUv(rc, "shutdown of " + remote_));
    return;
  }
  req.release();  // ShutdownCb owns it now
  state_ = State::kShuttingDown;
}

void TcpConnection::CloseWith(Status reason) {
  if (state_ == State::kClosing || state_ == State::kClosed)
    return;
  state_ = State::kClosing;
  close_reason_ = std::move(reason);
  reading_ = false;
  blocked_ = false;
  handle_.Close();  // cancels queued writes and a pending connect or shutdown
}

void TcpConnection::CloseForLoop() noexcept {
  CloseWith(Status::Closed("the loop is closing"));
}

void TcpConnection::OnHandleClosed() noexcept {
  handle_.Forget();
  state_ = State::kClosed;
  delegate_->OnClosed(close_reason_);  // last: the delegate may destroy us
}

Result<Address> TcpConnection::peer_address() const {
  if (!handle_.open())
    return Status::FailedPrecondition("connection is closed");
  sockaddr_storage storage{};
  int length = sizeof(storage);
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_tcp_getpeername(handle_.get(), reinterpret_cast<sockaddr*>(&storage), &length),
             "uv_tcp_getpeername"));
  return Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

Result<Address> TcpConnection::local_address() const {
  if (!handle_.open())
    return Status::FailedPrecondition("connection is closed");
  sockaddr_storage storage{};
  int length = sizeof(storage);
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_tcp_getsockname(handle_.get(), reinterpret_cast<sockaddr*>(&storage), &length),
             "uv_tcp_getsockname"));
  return Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

void TcpConnection::ConnectCb(uv_connect_t* req, int status) noexcept {
  std::unique_ptr<uv_connect_t> owned(req);
  TcpConnection* self = internal::OwnerOf<TcpConnection>(req->handle);
  // Gone, or closing (then status is UV_ECANCELED and OnClosed is coming).
  if (self == nullptr || self->state_ != State::kConnecting)
    return;
  if (status < 0) {
    self->CloseWith(FromUv(status, "connect to " + self->remote_));
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

void TcpConnection::AllocCb(uv_handle_t* /*handle*/, size_t /*suggested*/, uv_buf_t* buf) noexcept {
  // No closing or stopping here (Part C #10). A null base makes libuv report
  // UV_ENOBUFS to ReadCb, which closes.
  char* base = ReadBuffer();
  *buf = uv_buf_init(base, base == nullptr ? 0 : kReadBufferBytes);
}

void TcpConnection::ReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  // buf->base is the thread's ReadBuffer(): nothing to free.
  TcpConnection* self = internal::OwnerOf<TcpConnection>(stream);
  if (self == nullptr)
    return;
  if (nread > 0) {
    self->delegate_->OnRead(
        ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)));
    return;  // the upcall was last
  }
  if (nread == 0)
    return;  // EAGAIN: nothing read, not an end (Part C #9)
  self->CloseWith(nread == UV_EOF ? Status::Closed("peer closed the connection")
                                  : FromUv(static_cast<int>(nread), "read from " + self->remote_));
}

void TcpConnection::WriteCb(uv_write_t* req, int status) noexcept {
  uv_stream_t* stream = req->handle;  // still valid: close callbacks run after this
  delete static_cast<WriteReq*>(req->data);
  TcpConnection* self = internal::OwnerOf<TcpConnection>(stream);
  if (self == nullptr || self->state_ == State::kClosing || self->state_ == State::kClosed)
    return;
  if (status < 0) {
    self->CloseWith(FromUv(status, "write to " + self->remote_));
    return;
  }
  if (self->state_ == State::kOpen && self->blocked_ &&
      self->write_queue_bytes() <= self->low_water_bytes_) {
    self->blocked_ = false;
    self->delegate_->OnWritable();  // last: the delegate may destroy us
  }
}

void TcpConnection::ShutdownCb(uv_shutdown_t* req, int status) noexcept {
  uv_stream_t* stream = req->handle;
  delete req;
  TcpConnection* self = internal::OwnerOf<TcpConnection>(stream);
  if (self == nullptr)
    return;
  // UV_ECANCELED means Close() overtook us; CloseWith then does nothing.
  self->CloseWith(status < 0 ? FromUv(status, "shutdown of " + self->remote_) : Status::Ok());
}

}  // namespace confab::net
