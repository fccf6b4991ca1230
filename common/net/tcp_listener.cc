#include "common/net/tcp_listener.h"

namespace confab::net {

Result<std::unique_ptr<TcpListener>> TcpListener::Create(Loop& loop, const Address& bind_to,
                                                         Delegate* delegate, int backlog) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<TcpListener> listener(new TcpListener(loop, delegate));
  CONFAB_RETURN_IF_ERROR(listener->handle_.Init(
      listener.get(), [&](uv_tcp_t* h) { return uv_tcp_init(loop.get(), h); }, "uv_tcp_init"));
  const std::string where = bind_to.ToString();
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_tcp_bind(listener->handle_.get(), bind_to.sockaddr_ptr(), 0), "bind " + where));
  // libuv reports some bind errors (EADDRINUSE) only here.
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_listen(listener->handle_.stream(), backlog, &ConnectionCb), "listen on " + where));
  CONFAB_ASSIGN_OR_RETURN(Address bound, listener->local_address());
  listener->port_ = bound.port();
  return listener;
}

Result<Address> TcpListener::local_address() const {
  if (!handle_.open())
    return Status::FailedPrecondition("listener is closed");
  sockaddr_storage storage{};
  int length = sizeof(storage);
  CONFAB_RETURN_IF_ERROR(
      FromUv(uv_tcp_getsockname(handle_.get(), reinterpret_cast<sockaddr*>(&storage), &length),
             "uv_tcp_getsockname"));
  return Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

Result<std::unique_ptr<TcpConnection>> TcpListener::Accept(TcpConnection::Delegate* delegate,
                                                           TcpConnection::Options options) {
  if (!handle_.open())
    return Status::FailedPrecondition("listener is closed");
  return TcpConnection::AcceptFrom(loop_, handle_.stream(), delegate, options);
}

void TcpListener::ConnectionCb(uv_stream_t* server, int status) noexcept {
  TcpListener* self = internal::OwnerOf<TcpListener>(server);
  if (self == nullptr)
    return;
  self->delegate_->OnIncoming(FromUv(status, "accept"));  // last: may destroy the listener
}

}  // namespace confab::net
