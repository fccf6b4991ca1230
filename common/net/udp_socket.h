// UdpSocket: a bound uv_udp_t that sends datagrams it owns and delivers the
// ones it receives with their sender (used for hole punching).
//
// Lifetime: the delegate must outlive the socket. The socket may be destroyed
// at any time, its own callbacks included: sends still in flight are
// cancelled and free their bytes, and no upcall follows destruction.
#pragma once

#include <cstddef>
#include <memory>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/address.h"
#include "common/net/handle.h"
#include "common/net/loop.h"

namespace confab::net {

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
  };

  // Binds to `bind_to` (port 0 picks a free port; see local_address()).
  // FailedPrecondition if the loop is closing; the uv_udp_init/bind error.
  static Result<std::unique_ptr<UdpSocket>> Create(Loop& loop, const Address& bind_to,
                                                   Delegate* delegate);
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
  // Bytes queued in the kernel-bound send queue, for backpressure.
  size_t send_queue_bytes() const;

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
  internal::OwnedHandle<uv_udp_t> handle_;
};

}  // namespace confab::net
