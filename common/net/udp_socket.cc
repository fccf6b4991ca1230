#include "common/net/udp_socket.h"

#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <new>
#include <string>

namespace confab::net {
namespace {

// libuv's recvmmsg gives each datagram a 64 KiB chunk of the buffer (a UDP
// datagram's maximum), so this many chunks is how many datagrams one
// system call can read.
constexpr size_t kRecvChunkBytes = 64 * 1024;
constexpr size_t kRecvChunks = 16;

#if defined(__linux__)
// Cleared when the kernel says sendmmsg does not exist (ENOSYS): every
// socket falls back to one datagram per call from then on.
std::atomic<bool> g_sendmmsg_usable{true};
#endif

// One send: the request and the bytes it points at, freed together in
// SendCb on every path, UV_ECANCELED included (Part C #4, #5).
struct SendReq {
  uv_udp_send_t req{};
  Bytes data;
};

Status SetDontFragment(uv_udp_t* handle, bool ipv6) {
#if defined(IP_MTU_DISCOVER) && defined(IPV6_MTU_DISCOVER)
  uv_os_fd_t fd;
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd), "uv_fileno"));
  const int level = ipv6 ? IPPROTO_IPV6 : IPPROTO_IP;
  const int name = ipv6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER;
  const int value = ipv6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
  if (::setsockopt(fd, level, name, &value, sizeof(value)) != 0)
    return FromUv(-errno, "setsockopt(MTU_DISCOVER)");
#else
  (void)handle, (void)ipv6;
#endif
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<UdpSocket>> UdpSocket::Create(Loop& loop, const Address& bind_to,
                                                     Delegate* delegate,
                                                     const UdpSocketOptions& options) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<UdpSocket> socket(new UdpSocket(delegate));
  CONFAB_RETURN_IF_ERROR(socket->handle_.Init(
      socket.get(),
      [&](uv_udp_t* h) {
        // recvmmsg where the kernel has it (libuv falls back to recvmsg).
        return uv_udp_init_ex(loop.get(), h, AF_UNSPEC | UV_UDP_RECVMMSG);
      },
      "uv_udp_init_ex"));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_udp_bind(socket->handle_.get(), bind_to.sockaddr_ptr(), 0),
                                "udp bind " + bind_to.ToString()));
  if (options.dont_fragment)
    CONFAB_RETURN_IF_ERROR(SetDontFragment(socket->handle_.get(), bind_to.is_ipv6()));
  if (options.recv_buffer_bytes == 0 && options.send_buffer_bytes == 0)
    return socket;
  CONFAB_ASSIGN_OR_RETURN(BufferSizes got, socket->SetBufferSizes(options.recv_buffer_bytes,
                                                                  options.send_buffer_bytes));
  // Linux reports twice the request when it granted it in full. Less means
  // the sysctl cap: say so once, where ops look, rather than drop datagrams
  // without a word.
  if (got.recv_bytes < options.recv_buffer_bytes || got.send_bytes < options.send_buffer_bytes) {
    spdlog::info(
        "udp {}: socket buffers are {} bytes (receive) and {} (send), {} and {} were asked; "
        "raise net.core.rmem_max / wmem_max for more",
        bind_to.ToString(), got.recv_bytes, got.send_bytes, options.recv_buffer_bytes,
        options.send_buffer_bytes);
  }
  return socket;
}

Result<UdpSocket::BufferSizes> UdpSocket::SetBufferSizes(size_t recv_bytes, size_t send_bytes) {
  if (!handle_.open())
    return Status::FailedPrecondition("udp socket is closed");
  if (recv_bytes > INT_MAX || send_bytes > INT_MAX)
    return Status::InvalidArgument("udp socket buffer size above INT_MAX");
  uv_handle_t* h = reinterpret_cast<uv_handle_t*>(handle_.get());
  // libuv sets when the value is non-zero and reads when it is zero.
  if (int value = static_cast<int>(recv_bytes); value != 0) {
    CONFAB_RETURN_IF_ERROR(FromUv(uv_recv_buffer_size(h, &value), "uv_recv_buffer_size"));
  }
  if (int value = static_cast<int>(send_bytes); value != 0) {
    CONFAB_RETURN_IF_ERROR(FromUv(uv_send_buffer_size(h, &value), "uv_send_buffer_size"));
  }
  return buffer_sizes();
}

Result<UdpSocket::BufferSizes> UdpSocket::buffer_sizes() const {
  if (!handle_.open())
    return Status::FailedPrecondition("udp socket is closed");
  uv_handle_t* h = reinterpret_cast<uv_handle_t*>(handle_.get());
  int recv = 0;
  int send = 0;
  CONFAB_RETURN_IF_ERROR(FromUv(uv_recv_buffer_size(h, &recv), "uv_recv_buffer_size"));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_send_buffer_size(h, &send), "uv_send_buffer_size"));
  return BufferSizes{static_cast<size_t>(recv), static_cast<size_t>(send)};
}

Result<Address> UdpSocket::local_address() const {
  if (!handle_.open())
    return Status::FailedPrecondition("udp socket is closed");
  sockaddr_storage storage{};
  int length = sizeof(storage);
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_udp_getsockname(handle_.get(), reinterpret_cast<sockaddr*>(&storage), &length),
             "uv_udp_getsockname"));
  return Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

Status UdpSocket::StartReceiving() {
  if (!handle_.open())
    return Status::FailedPrecondition("udp socket is closed");
  if (receiving_)
    return Status::Ok();
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_udp_recv_start(handle_.get(), &AllocCb, &RecvCb), "uv_udp_recv_start"));
  receiving_ = true;
  return Status::Ok();
}

void UdpSocket::StopReceiving() {
  if (handle_.open() && receiving_)
    uv_udp_recv_stop(handle_.get());
  receiving_ = false;
}

Status UdpSocket::Send(Bytes data, const Address& to) {
  if (!handle_.open())
    return Status::FailedPrecondition("udp socket is closed");
  if (data.size() > UINT_MAX)
    return Status::InvalidArgument("datagram too large");
  auto req = std::make_unique<SendReq>();
  req->data = std::move(data);
  req->req.data = req.get();
  // uv_udp_send copies the uv_buf_t itself; only the bytes must live on.
  const uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(req->data.data()),
                                   static_cast<unsigned>(req->data.size()));
  const int rc = uv_udp_send(&req->req, handle_.get(), &buf, 1, to.sockaddr_ptr(), &SendCb);
  // The message is built only on failure: this runs once per datagram, and
  // formatting the address every time cost a measurable share of a transfer.
  if (rc < 0)
    return FromUv(rc, "udp send to " + to.ToString());
  req.release();  // SendCb owns it now
  return Status::Ok();
}

Status UdpSocket::SendBatch(std::span<Bytes> datagrams, const Address& to) {
  if (!handle_.open())
    return Status::FailedPrecondition("udp socket is closed");
  size_t next = 0;
  Status first_error = Status::Ok();
#if defined(__linux__)
  // Behind datagrams libuv still holds, ours would overtake them.
  if (g_sendmmsg_usable.load(std::memory_order_relaxed) &&
      uv_udp_get_send_queue_count(handle_.get()) == 0) {
    uv_os_fd_t fd;
    CONFAB_RETURN_IF_ERROR(
        FromUv(uv_fileno(reinterpret_cast<uv_handle_t*>(handle_.get()), &fd), "uv_fileno"));
    const socklen_t to_length = to.is_ipv6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    std::array<mmsghdr, kMaxBatch> msgs{};
    std::array<iovec, kMaxBatch> iovs{};
    while (next < datagrams.size()) {
      const size_t n = std::min(kMaxBatch, datagrams.size() - next);
      for (size_t i = 0; i < n; ++i) {
        Bytes& d = datagrams[next + i];
        iovs[i] = {d.data(), d.size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_name = const_cast<sockaddr*>(to.sockaddr_ptr());
        msgs[i].msg_hdr.msg_namelen = to_length;
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int rc = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
      if (rc > 0) {
        ++batched_calls_;
        batched_datagrams_ += static_cast<uint64_t>(rc);
        next += static_cast<size_t>(rc);
        continue;
      }
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc < 0 && errno == ENOSYS) {
        g_sendmmsg_usable.store(false, std::memory_order_relaxed);  // old kernel: Send from now on
        break;
      }
      if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
        break;  // the socket buffer is full: libuv's queue waits for room
      // The first datagram was refused (sendmmsg reports an error only
      // when none went): it is lost, the rest still go.
      if (first_error.ok())
        first_error = FromUv(rc < 0 ? -errno : UV_EIO, "udp sendmmsg to " + to.ToString());
      ++next;
    }
  }
#endif
  for (; next < datagrams.size(); ++next) {
    Status st = Send(std::move(datagrams[next]), to);
    datagrams[next] = Bytes();
    if (!st.ok() && first_error.ok())
      first_error = st;
  }
  return first_error;
}

size_t UdpSocket::send_queue_bytes() const {
  return handle_.open() ? uv_udp_get_send_queue_size(handle_.get()) : 0;
}

void UdpSocket::AllocCb(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) noexcept {
  // No closing or stopping here (Part C #10). One buffer per socket, reused
  // for every read: libuv is done with it once RecvCb returns, and a
  // datagram is handed up as a view of it. A zero length makes libuv report
  // UV_ENOBUFS to RecvCb.
  UdpSocket* self = internal::OwnerOf<UdpSocket>(handle);
  if (self == nullptr) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  if (!self->recv_buffer_)
    self->recv_buffer_.reset(new (std::nothrow) char[kRecvChunkBytes * kRecvChunks]);
  *buf =
      uv_buf_init(self->recv_buffer_.get(), self->recv_buffer_ ? kRecvChunkBytes * kRecvChunks : 0);
}

void UdpSocket::RecvCb(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                       unsigned flags) noexcept {
  // The buffer is the socket's own (AllocCb), so nothing is freed here,
  // whatever the upcall destroys: a socket destroyed by the upcall takes its
  // buffer with it, and libuv stops handing out chunks of it once the handle
  // is closed. UV_UDP_MMSG_FREE (the end of a recvmmsg batch) has nothing
  // to free; it tells the delegate that the batch is over.
  UdpSocket* self = internal::OwnerOf<UdpSocket>(handle);
  if (self == nullptr)
    return;
  if ((flags & UV_UDP_MMSG_FREE) != 0) {
    self->delegate_->OnDatagramsEnd();
    return;
  }
  // A datagram read alone (no recvmmsg) is a read of its own.
  const bool alone = (flags & UV_UDP_MMSG_CHUNK) == 0;
  if (nread < 0) {
    self->delegate_->OnError(FromUv(static_cast<int>(nread), "udp receive"));
    return;
  }
  // nread == 0 with no sender means "nothing more to read", not a datagram.
  if (from == nullptr)
    return;
  Result<Address> sender = Address::FromSockaddr(from);
  if (!sender.ok()) {
    self->delegate_->OnError(sender.status());
    return;
  }
  if ((flags & UV_UDP_PARTIAL) != 0) {
    self->delegate_->OnError(
        Status::ResourceExhausted("datagram from " + sender->ToString() + " was truncated"));
    return;
  }
  self->delegate_->OnDatagram(
      ByteView(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)), *sender);
  if (alone && internal::OwnerOf<UdpSocket>(handle) == self)
    self->delegate_->OnDatagramsEnd();
}

void UdpSocket::SendCb(uv_udp_send_t* req, int status) noexcept {
  uv_udp_t* handle = req->handle;  // still valid: close callbacks run after this
  delete static_cast<SendReq*>(req->data);
  UdpSocket* self = internal::OwnerOf<UdpSocket>(handle);
  if (self == nullptr || status >= 0 || status == UV_ECANCELED || !self->handle_.open())
    return;
  self->delegate_->OnError(FromUv(status, "udp send"));
}

}  // namespace confab::net
