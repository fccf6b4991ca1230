// UdpSocket: a bound uv_udp_t that sends datagrams it owns and delivers the
// ones it receives with their sender (used for hole punching).
//
// Lifetime: the delegate must outlive the socket. The socket may be destroyed
// at any time, its own callbacks included: sends still in flight are
// cancelled and free their bytes, and no upcall follows destruction.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/address.h"
#include "common/net/handle.h"
#include "common/net/loop.h"

namespace confab::net {

// What confab's session sockets ask for. Over loopback a 64 MiB transfer
// lost ~250 datagrams with the kernel's default (212992 bytes on Debian 12):
// a burst of a congestion window arrives faster than the loop drains it.
inline constexpr size_t kDefaultUdpBufferBytes = 4 << 20;

struct UdpSocketOptions {
  // SO_RCVBUF / SO_SNDBUF to request at Create; 0 leaves the kernel's
  // default. See UdpSocket::SetBufferSizes for what the kernel makes of it.
  size_t recv_buffer_bytes = kDefaultUdpBufferBytes;
  size_t send_buffer_bytes = kDefaultUdpBufferBytes;
  // Sets the IP don't-fragment bit on every datagram and ignores the
  // kernel's path MTU cache (Linux IP_PMTUDISC_PROBE / IPV6_PMTUDISC_PROBE),
  // as path MTU discovery needs (RFC 8899 3): a probe too big for the path
  // must be dropped, not fragmented into something that gets through.
  // A datagram above the interface MTU then fails to send. Linux only; a
  // no-op elsewhere.
  bool dont_fragment = false;
};

class UdpSocket final : public internal::HandleOwner {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // One datagram. `data` is valid only during the call; it may be empty
    // (UDP allows zero-length datagrams).
    virtual void OnDatagram(ByteView data, const Address& from) = 0;
    // A receive or send failed (e.g. ICMP port unreachable shows up as
    // Unavailable), or a datagram was truncated to 64 KiB
    // (ResourceExhausted). The socket stays open; the owner decides.
    virtual void OnError(Status status) = 0;
    // The datagrams of one read (one recvmmsg, or one recvmsg where the
    // kernel has no recvmmsg) have all been delivered, so replies gathered
    // meanwhile can leave together (SendBatch).
    virtual void OnDatagramsEnd() {}
  };

  // Binds to `bind_to` (port 0 picks a free port; see local_address()) and
  // requests `options`' buffer sizes (logged when the kernel grants less).
  // FailedPrecondition if the loop is closing; the uv_udp_init/bind error,
  // or SetBufferSizes' error.
  static Result<std::unique_ptr<UdpSocket>> Create(Loop& loop, const Address& bind_to,
                                                   Delegate* delegate,
                                                   const UdpSocketOptions& options = {});
  ~UdpSocket() override = default;

  // The bound address, with the real port. FailedPrecondition once closed.
  Result<Address> local_address() const;

  // Delivery of OnDatagram starts or stops. Start is idempotent.
  Status StartReceiving();
  void StopReceiving();

  // Queues `data` for `to`; the socket owns the bytes until the send
  // completes. FailedPrecondition once closed; the uv_udp_send error.
  // Completion errors go to OnError.
  Status Send(Bytes data, const Address& to);
  // Sends `datagrams`, in order, to `to` in as few system calls as the
  // kernel allows: sendmmsg (kMaxBatch a call) straight from the caller's
  // buffers, which the caller keeps and may reuse. What the kernel does not
  // take at once (a full socket buffer), or everything while earlier sends
  // still wait in libuv's queue, is moved into that queue as Send would
  // (those elements are left empty). Without sendmmsg (not Linux, or
  // ENOSYS at run time) each datagram goes through Send. A datagram the
  // kernel refuses (say EMSGSIZE for a path MTU probe with don't-fragment)
  // is dropped and the rest still go; the first such error is returned,
  // and OnError is not called.
  static constexpr size_t kMaxBatch = 64;
  Status SendBatch(std::span<Bytes> datagrams, const Address& to);
  // Bytes queued in the kernel-bound send queue, for backpressure.
  size_t send_queue_bytes() const;
  // System calls SendBatch made (sendmmsg), and datagrams they carried.
  uint64_t batched_calls() const { return batched_calls_; }
  uint64_t batched_datagrams() const { return batched_datagrams_; }

  // Kernel socket buffer sizes, as getsockopt reports them. On Linux that is
  // twice what was asked (the kernel counts its bookkeeping too), capped at
  // twice net.core.rmem_max / wmem_max: a request above the cap is not an
  // error, it silently gets less, so callers that care compare.
  struct BufferSizes {
    size_t recv_bytes = 0;
    size_t send_bytes = 0;
  };
  // Requests SO_RCVBUF/SO_SNDBUF (0 leaves that one as it is) and returns the
  // effective sizes. InvalidArgument above INT_MAX; FailedPrecondition once
  // closed; the uv_recv_buffer_size/uv_send_buffer_size error.
  Result<BufferSizes> SetBufferSizes(size_t recv_bytes, size_t send_bytes);
  // The effective sizes now. FailedPrecondition once closed.
  Result<BufferSizes> buffer_sizes() const;

  // Idempotent; pending sends are cancelled and freed; no upcall follows.
  void Close() { handle_.Close(); }

 private:
  explicit UdpSocket(Delegate* delegate) : delegate_(delegate) {}
  static void AllocCb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void RecvCb(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                     unsigned flags) noexcept;
  static void SendCb(uv_udp_send_t* req, int status) noexcept;
  void CloseForLoop() noexcept override { Close(); }
  void OnHandleClosed() noexcept override { handle_.Forget(); }

  Delegate* const delegate_;
  bool receiving_ = false;
  uint64_t batched_calls_ = 0;
  uint64_t batched_datagrams_ = 0;
  // Where datagrams are read (AllocCb), allocated on the first read.
  std::unique_ptr<char[]> recv_buffer_;
  internal::OwnedHandle<uv_udp_t> handle_;
};

}  // namespace confab::net
