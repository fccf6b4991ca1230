#include "peer/control_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

namespace confab::peer {
namespace {

// True if a process accepts connections on the socket file at `path`.
bool SomeoneListens(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  const bool listening = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return listening;
}

}  // namespace

// One control connection: one request in, one response out.
class ControlServer::Client final : public net::PipeConnection::Delegate {
 public:
  explicit Client(ControlServer& server) : server_(server) {}

  // The connection accepted with this Client as its delegate.
  Status Start(std::unique_ptr<net::PipeConnection> conn) {
    conn_ = std::move(conn);
    return conn_->StartReading();
  }
  void Close() { conn_->Close(); }

 private:
  void OnRead(ByteView data) override {
    if (answered_)
      return;  // one request per connection; the rest is ignored
    if (Status fed = reader_.Feed(data); !fed.ok()) {
      spdlog::warn("control socket: {}; closing the connection", fed.ToString());
      conn_->Close();
      return;
    }
    std::optional<Bytes> frame = reader_.Take();
    if (!frame)
      return;
    proto::Request request;
    if (!request.ParseFromArray(frame->data(), static_cast<int>(frame->size())) ||
        request.body_case() == proto::Request::BODY_NOT_SET) {
      spdlog::warn("control socket: a request that does not parse; closing the connection");
      conn_->Close();
      return;
    }
    answered_ = true;
    const proto::Response response = server_.delegate_->HandleControl(request);
    Result<Bytes> encoded = EncodeControlFrame(response);
    if (!encoded.ok() || !conn_->Write(std::move(*encoded)).ok()) {
      conn_->Close();
      return;
    }
    conn_->Shutdown();
  }

  void OnClosed(Status /*status*/) override { server_.Forget(this); }  // destroys us: last

  ControlServer& server_;
  std::unique_ptr<net::PipeConnection> conn_;
  ControlFrameReader reader_;
  bool answered_ = false;
};

Result<std::unique_ptr<ControlServer>> ControlServer::Create(net::Loop& loop,
                                                             const std::string& path,
                                                             Delegate* delegate) {
  if (access(path.c_str(), F_OK) == 0) {
    if (SomeoneListens(path))
      return Status::FailedPrecondition("a node is already running (" + path + " answers)");
    (void)unlink(path.c_str());  // left by a node that did not shut down cleanly
  }
  std::unique_ptr<ControlServer> server(new ControlServer(delegate));
  CONFAB_ASSIGN_OR_RETURN(server->listener_, net::PipeListener::Create(loop, path, server.get()));
  return server;
}

ControlServer::ControlServer(Delegate* delegate) : delegate_(delegate) {}

ControlServer::~ControlServer() = default;

void ControlServer::Close() {
  if (listener_)
    listener_->Close();
  for (auto& [raw, client] : clients_)
    client->Close();
}

void ControlServer::OnIncoming(Status status) {
  if (!status.ok()) {
    spdlog::warn("control socket: {}", status.ToString());
    return;
  }
  auto client = std::make_unique<Client>(*this);
  Result<std::unique_ptr<net::PipeConnection>> conn = listener_->Accept(client.get());
  if (!conn.ok()) {
    spdlog::warn("control socket: {}", conn.status().ToString());
    return;
  }
  if (Status started = client->Start(std::move(*conn)); !started.ok()) {
    spdlog::warn("control socket: {}", started.ToString());
    return;  // destroying the connection closes it; no upcall follows
  }
  Client* raw = client.get();
  clients_.emplace(raw, std::move(client));
}

void ControlServer::Forget(Client* client) {
  clients_.erase(client);
}

}  // namespace confab::peer
