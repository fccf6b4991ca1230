// TcpListener: a bound, listening uv_tcp_t. It announces each pending
// connection to its delegate, which takes it with Accept().
//
// Lifetime: the delegate must outlive the listener. The listener may be
// destroyed at any time, OnIncoming included; accepted connections are
// independent of it.
#pragma once

#include <cstdint>
#include <memory>

#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/address.h"
#include "common/net/handle.h"
#include "common/net/loop.h"
#include "common/net/tcp_connection.h"

namespace confab::net {

// For a listener on port 0 whose number must bind for UDP too (the tracker,
// the peer port): the kernel picks a port free for TCP, which another socket
// may hold for UDP, so the caller picks again, at most this many times.
inline constexpr int kSamePortPicks = 8;

class TcpListener final : public internal::HandleOwner {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // OK: a connection is waiting; call Accept() now (libuv stops accepting
    // until it is taken), or Close() the listener. Not OK: accepting failed
    // (e.g. ResourceExhausted for EMFILE); the listener stays open.
    virtual void OnIncoming(Status status) = 0;
  };

  // Binds `bind_to` (port 0 picks a free port; see port()) and listens.
  // FailedPrecondition if the loop is closing; the bind or listen error
  // otherwise (Unavailable for EADDRINUSE).
  static Result<std::unique_ptr<TcpListener>> Create(Loop& loop, const Address& bind_to,
                                                     Delegate* delegate, int backlog = 128);
  ~TcpListener() override = default;

  // The port actually bound, also after Close().
  uint16_t port() const { return port_; }
  // The bound address. FailedPrecondition once closed.
  Result<Address> local_address() const;

  // Takes the pending connection (already kOpen; call StartReading). The
  // caller owns it. FailedPrecondition once closed; the uv_accept error
  // (e.g. EAGAIN when nothing is pending).
  Result<std::unique_ptr<TcpConnection>> Accept(TcpConnection::Delegate* delegate,
                                                TcpConnection::Options options = {});

  // Stops listening. Idempotent; no upcall follows.
  void Close() { handle_.Close(); }

 private:
  TcpListener(Loop& loop, Delegate* delegate) : loop_(loop), delegate_(delegate) {}
  static void ConnectionCb(uv_stream_t* server, int status) noexcept;
  void CloseForLoop() noexcept override { Close(); }
  void OnHandleClosed() noexcept override { handle_.Forget(); }

  Loop& loop_;
  Delegate* const delegate_;
  uint16_t port_ = 0;
  internal::OwnedHandle<uv_tcp_t> handle_;
};

}  // namespace confab::net
