#include "tracker/serve.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "common/base/log.h"
#include "common/base/proto_bytes.h"
#include "common/base/service_notify.h"
#include "common/channel/channel_connection.h"
#include "common/config/config.h"
#include "common/net/loop.h"
#include "common/net/signal_watcher.h"
#include "common/net/timer.h"
#include "tracker/server.h"

namespace confab::tracker {
namespace {

constexpr const char* kAddressFile = "tracker.addr";
constexpr uint64_t kAdminTimeoutMs = 10000;

// Stops the server on SIGINT or SIGTERM.
class Shutdown final : public net::SignalWatcher::Delegate {
 public:
  explicit Shutdown(TrackerServer& server) : server_(server) {}
  void OnSignal(int signum) override {
    spdlog::info("signal {}: shutting down", signum);
    NotifyStopping();
    server_.Stop();
    for (auto& w : watchers)
      w->Close();
  }
  std::vector<std::unique_ptr<net::SignalWatcher>> watchers;

 private:
  TrackerServer& server_;
};

net::Address LoopbackFor(const net::Address& listen, uint16_t port) {
  std::string ip = listen.ip();
  if (ip == "0.0.0.0")
    ip = "127.0.0.1";
  if (ip == "::")
    ip = "::1";
  auto address = net::Address::FromIp(ip, port);
  return address.ok() ? *address : listen;
}

// One descriptor per online member: take the whole hard limit.
void RaiseFileLimit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max)
    return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot raise the open-file limit to {}", limit.rlim_max);
  }
}

Result<uint16_t> RunningPort(const TrackerState& state) {
  std::ifstream in(state.Path(kAddressFile));
  std::string text;
  if (!(in >> text)) {
    return Status::Unavailable("the tracker is not running (no " + state.Path(kAddressFile) +
                               ") and its configured port is 0");
  }
  CONFAB_ASSIGN_OR_RETURN(net::Address address, net::Address::Parse(text));
  return address.port();
}

}  // namespace

Result<net::Address> LocalTrackerAddress(const TrackerState& state) {
  CONFAB_ASSIGN_OR_RETURN(net::Address listen, net::Address::Parse(state.config().listen));
  uint16_t port = listen.port();
  if (port == 0) {
    CONFAB_ASSIGN_OR_RETURN(port, RunningPort(state));
  }
  return LoopbackFor(listen, port);
}

Result<std::string> AdvertisedAddress(const TrackerState& state) {
  CONFAB_ASSIGN_OR_RETURN(net::Address advertise, net::Address::Parse(state.config().advertise));
  if (advertise.port() != 0)
    return advertise.ToString();
  CONFAB_ASSIGN_OR_RETURN(uint16_t port, RunningPort(state));
  CONFAB_ASSIGN_OR_RETURN(net::Address actual, net::Address::FromIp(advertise.ip(), port));
  return actual.ToString();
}

int Serve(const std::string& dir, const std::string& log_level) {
  auto opened = TrackerState::Open(dir);
  if (!opened.ok()) {
    std::fprintf(stderr, "confab-tracker: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  TrackerState& state = **opened;
  Status logging =
      InitLogging("confab-tracker", log_level.empty() ? state.config().log_level : log_level);
  if (!logging.ok()) {
    std::fprintf(stderr, "confab-tracker: %s: %s\n", state.Path("tracker.toml").c_str(),
                 std::string(logging.message()).c_str());
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit();
  auto loop = net::Loop::Create();
  if (!loop.ok()) {
    std::fprintf(stderr, "confab-tracker: %s\n", std::string(loop.status().message()).c_str());
    return 1;
  }
  int exit_code = 0;
  {
    auto server = TrackerServer::Start(**loop, state);
    if (!server.ok()) {
      std::fprintf(stderr, "confab-tracker: cannot start: %s\n",
                   std::string(server.status().message()).c_str());
      (void)(*loop)->Close();
      return 1;
    }
    auto listen = net::Address::Parse(state.config().listen);
    const std::string bound = LoopbackFor(*listen, (*server)->port()).ToString();
    // For ops commands and scripts when the configured port is 0.
    (void)config::WriteFileAtomically(state.Path(kAddressFile), bound + "\n", 0600);
    Shutdown shutdown(**server);
    for (int signum : {SIGINT, SIGTERM}) {
      auto watcher = net::SignalWatcher::Create(**loop, signum, &shutdown);
      if (watcher.ok())
        shutdown.watchers.push_back(std::move(watcher).value());
    }
    spdlog::info("org '{}' serving on {} (TCP and UDP), port {}, second UDP probe port {}{}",
                 state.config().org, state.config().listen, (*server)->port(),
                 (*server)->second_probe_port(),
                 (*server)->metrics_port()
                     ? fmt::format(", metrics on port {}", *(*server)->metrics_port())
                     : std::string());
    NotifyReady(fmt::format("serving org '{}' on port {}", state.config().org, (*server)->port()));
    Status run = (*loop)->Run();
    if (!run.ok()) {
      spdlog::error("loop: {}", run.ToString());
      exit_code = 1;
    }
    ::unlink(state.Path(kAddressFile).c_str());
  }
  Status closed = (*loop)->Close();
  if (!closed.ok()) {
    spdlog::error("shutdown left handles open: {}", closed.ToString());
    exit_code = 1;
  }
  spdlog::info("stopped");
  return exit_code;
}

namespace {

// The client side of one admin request.
class AdminClient final : public channel::ChannelConnection::Delegate, public net::Timer::Delegate {
 public:
  explicit AdminClient(const proto::AdminRequest& request) : request_(request) {}

  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("unexpected hello");
  }
  Status OnWelcome(channel::ChannelConnection& c, ByteView) override {
    return c.Send(SerializeToBytes(request_));
  }
  Status OnMessage(channel::ChannelConnection& c, ByteView plaintext) override {
    proto::AdminResponse response;
    if (!ParseFromBytes(plaintext, &response)) {
      return Status::Corruption("malformed admin response");
    }
    response_ = std::move(response);
    c.Close();
    return Status::Ok();
  }
  void OnClosed(channel::ChannelConnection&, Status status) override {
    closed_ = status;
    if (timer)
      timer->Close();
  }
  void OnTimer() override {
    if (connection)
      connection->Fail(Status::Unavailable("the tracker did not answer"));
  }

  Result<proto::AdminResponse> Outcome() const {
    if (response_)
      return *response_;
    if (closed_ && !closed_->ok()) {
      if (closed_->code() == Status::Code::kUnavailable) {
        return Status::Unavailable("the tracker is not running (" +
                                   std::string(closed_->message()) + ")");
      }
      return *closed_;
    }
    return Status::Unavailable("the tracker closed the connection without answering");
  }

  std::unique_ptr<channel::ChannelConnection> connection;
  std::unique_ptr<net::Timer> timer;

 private:
  const proto::AdminRequest& request_;
  std::optional<proto::AdminResponse> response_;
  std::optional<Status> closed_;
};

}  // namespace

Result<proto::AdminResponse> AdminCall(const TrackerState& state,
                                       const proto::AdminRequest& request) {
  CONFAB_ASSIGN_OR_RETURN(net::Address to, LocalTrackerAddress(state));
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<net::Loop> loop, net::Loop::Create());
  AdminClient client(request);
  {
    channel::InitiatorParams params;
    params.purpose = proto::PURPOSE_ADMIN;
    params.local_static = state.noise_static().secret_key;
    params.remote_static = state.noise_static().public_key;
    auto connection = channel::ChannelConnection::Connect(*loop, to, std::move(params), &client);
    if (!connection.ok())
      return connection.status();
    client.connection = std::move(connection).value();
    CONFAB_ASSIGN_OR_RETURN(client.timer, net::Timer::Create(*loop, &client));
    CONFAB_RETURN_IF_ERROR(client.timer->Start(kAdminTimeoutMs));
    CONFAB_RETURN_IF_ERROR(loop->Run());
    client.connection.reset();
    client.timer.reset();
  }
  CONFAB_RETURN_IF_ERROR(loop->Close());
  return client.Outcome();
}

}  // namespace confab::tracker
