#include "common/net/tcp_connection.h"

#include <utility>

namespace confab::net {

Status TcpConnection::CheckOptions(const Options& options) {
  if (options.low_water_bytes > options.high_water_bytes)
    return Status::InvalidArgument("low-water mark above the high-water mark");
  return Status::Ok();
}

Status TcpConnection::Init(Loop& loop) {
  return InitHandle<uv_tcp_t>([&](uv_tcp_t* h) { return uv_tcp_init(loop.get(), h); },
                              "uv_tcp_init");
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
  conn->set_remote(to.ToString());
  CONFAB_RETURN_IF_ERROR(conn->Init(loop));
  uv_tcp_t* tcp = conn->handle<uv_tcp_t>();
  // Frames are small and latency matters more than packet count.
  CONFAB_RETURN_IF_ERROR(FromUv(uv_tcp_nodelay(tcp, 1), "uv_tcp_nodelay"));
  if (options.bind_local) {
    CONFAB_RETURN_IF_ERROR(FromUv(uv_tcp_bind(tcp, options.bind_local->sockaddr_ptr(), 0),
                                  "bind to " + options.bind_local->ToString()));
  }
  auto req = std::make_unique<uv_connect_t>();
  CONFAB_RETURN_IF_ERROR(FromUv(uv_tcp_connect(req.get(), tcp, to.sockaddr_ptr(), &ConnectCb),
                                "connect to " + conn->remote()));
  req.release();  // ConnectCb owns it now
  return conn;
}

Result<std::unique_ptr<TcpConnection>> TcpConnection::AcceptFrom(Loop& loop, uv_stream_t* server,
                                                                 Delegate* delegate,
                                                                 Options options) {
  CONFAB_RETURN_IF_ERROR(CheckOptions(options));
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<TcpConnection> conn(new TcpConnection(delegate, options, State::kOpen));
  CONFAB_RETURN_IF_ERROR(conn->Init(loop));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_accept(server, conn->stream()), "accept"));
  CONFAB_RETURN_IF_ERROR(FromUv(uv_tcp_nodelay(conn->handle<uv_tcp_t>(), 1), "uv_tcp_nodelay"));
  if (Result<Address> peer = conn->peer_address(); peer.ok())
    conn->set_remote(peer->ToString());
  return conn;
}

Result<Address> TcpConnection::peer_address() const {
  return NameOf(&uv_tcp_getpeername, "uv_tcp_getpeername");
}

Result<Address> TcpConnection::local_address() const {
  return NameOf(&uv_tcp_getsockname, "uv_tcp_getsockname");
}

Result<Address> TcpConnection::NameOf(int (*get_name)(const uv_tcp_t*, sockaddr*, int*),
                                      const char* what) const {
  if (!handle_open())
    return Status::FailedPrecondition("connection is closed");
  sockaddr_storage storage{};
  int length = sizeof(storage);
  CONFAB_RETURN_IF_ERROR(
      FromUv(get_name(handle<uv_tcp_t>(), reinterpret_cast<sockaddr*>(&storage), &length), what));
  return Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&storage));
}

}  // namespace confab::net
