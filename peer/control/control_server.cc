#include "peer/control/control_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/net/timer.h"
#include "peer/control/control_response.h"

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

// One control connection: one request in, one response out; or, after
// SubscribeEvents, a stream of Events out.
class ControlServer::Client final : public net::PipeConnection::Delegate,
                                    private net::Timer::Delegate {
 public:
  explicit Client(ControlServer& server) : server_(server) {}

  // The connection accepted with this Client as its delegate.
  Status Start(std::unique_ptr<net::PipeConnection> conn) {
    conn_ = std::move(conn);
    CONFAB_ASSIGN_OR_RETURN(idle_timer_, net::Timer::Create(server_.loop_, this));
    CONFAB_RETURN_IF_ERROR(idle_timer_->Start(server_.options_.idle_timeout_ms));
    return conn_->StartReading();
  }
  void Close() { conn_->Close(); }
  bool subscriber() const {
    return subscriber_ && conn_->state() == net::PipeConnection::State::kOpen;
  }

  // One encoded Event frame, or a close when too much is already queued.
  void Push(const Bytes& frame) {
    if (!subscriber())
      return;
    if (conn_->write_queue_bytes() + frame.size() > server_.options_.max_subscriber_queue_bytes) {
      spdlog::warn("control socket: an event subscriber fell {} bytes behind; closing it",
                   conn_->write_queue_bytes());
      conn_->Close();
      return;
    }
    if (!conn_->Write(frame).ok())
      conn_->Close();
  }

 private:
  void OnRead(ByteView data) override {
    if (answered_)
      return;  // one request per connection; the rest is ignored
    (void)idle_timer_->Start(server_.options_.idle_timeout_ms);  // it spoke: a fresh period
    if (Status fed = reader_.Feed(data); !fed.ok()) {
      spdlog::warn("control socket: {}; closing the connection", fed.ToString());
      conn_->Close();
      return;
    }
    std::optional<Bytes> frame = reader_.Take();
    if (!frame)
      return;
    proto::Request request;
    if (!ParseFromBytes(*frame, &request) || request.body_case() == proto::Request::BODY_NOT_SET) {
      spdlog::warn("control socket: a request that does not parse; closing the connection");
      conn_->Close();
      return;
    }
    answered_ = true;
    if (request.body_case() == proto::Request::kSubscribeEvents) {
      proto::Response ok;
      ok.set_ok(true);
      Result<Bytes> encoded = EncodeControlFrame(ok);
      if (!encoded.ok() || !conn_->Write(std::move(*encoded)).ok()) {
        conn_->Close();
        return;
      }
      subscriber_ = true;
      idle_timer_->Stop();  // a subscriber listens; it need not speak
      return;
    }
    if (server_.delegate_ == nullptr) {
      Answer(Failure(Status::Unavailable("the node is starting; try again")));
      return;
    }
    std::weak_ptr<bool> alive = alive_;
    server_.delegate_->HandleControlLater(request, [this, alive](proto::Response response) {
      if (!alive.expired())
        Answer(response);
    });
  }

  // Writes the one response, then half-closes.
  void Answer(const proto::Response& response) {
    if (conn_->state() != net::PipeConnection::State::kOpen)
      return;
    Result<Bytes> encoded = EncodeControlFrame(response);
    if (!encoded.ok()) {  // over the frame limit: say so rather than close unanswered
      encoded = EncodeControlFrame(Failure(Status::ResourceExhausted(
          "the answer is over 1 MiB; ask for less (for example with --limit or --since)")));
    }
    if (!encoded.ok() || !conn_->Write(std::move(*encoded)).ok()) {
      conn_->Close();
      return;
    }
    conn_->Shutdown();  // the idle timer still runs: a client that never reads is closed
  }

  void OnTimer() override {
    spdlog::info("control socket: a connection idle for {} ms; closing it",
                 server_.options_.idle_timeout_ms);
    conn_->Close();
  }

  void OnClosed(Status /*status*/) override { server_.Forget(this); }  // destroys us: last

  ControlServer& server_;
  std::unique_ptr<net::PipeConnection> conn_;
  std::unique_ptr<net::Timer> idle_timer_;
  ControlFrameReader reader_;
  bool answered_ = false;
  bool subscriber_ = false;
  // Expires with the Client: a reply given after it is gone is dropped.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

Result<std::unique_ptr<ControlServer>> ControlServer::Create(net::Loop& loop,
                                                             const std::string& path,
                                                             Delegate* delegate,
                                                             ControlServerOptions options) {
  if (access(path.c_str(), F_OK) == 0) {
    if (SomeoneListens(path))
      return Status::FailedPrecondition("a node is already running (" + path + " answers)");
    (void)unlink(path.c_str());  // left by a node that did not shut down cleanly
  }
  std::unique_ptr<ControlServer> server(new ControlServer(loop, delegate, options));
  CONFAB_ASSIGN_OR_RETURN(server->listener_, net::PipeListener::Create(loop, path, server.get()));
  return server;
}

ControlServer::ControlServer(net::Loop& loop, Delegate* delegate, ControlServerOptions options)
    : loop_(loop), delegate_(delegate), options_(options) {}

ControlServer::~ControlServer() = default;

void ControlServer::Close() {
  if (listener_)
    listener_->Close();
  for (auto& [raw, client] : clients_)
    client->Close();
}

void ControlServer::Publish(const proto::Event& event) {
  if (subscriber_count() == 0)
    return;
  Result<Bytes> frame = EncodeControlFrame(event);
  if (!frame.ok()) {
    spdlog::warn("control socket: an event too large to send: {}", frame.status().ToString());
    return;
  }
  // Push only starts closing a lagging subscriber; none leaves clients_ here.
  for (auto& [raw, client] : clients_)
    client->Push(*frame);
}

size_t ControlServer::subscriber_count() const {
  size_t n = 0;
  for (const auto& [raw, client] : clients_)
    n += client->subscriber() ? 1 : 0;
  return n;
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
