// The real Clock (libuv timers, the wall clock) and Transports (TCP through
// ChannelConnection::Connect, UDP through UdpPaths::DialChannel, the relay
// through a RelayOpener's stream) of dialer.h.
#include <spdlog/spdlog.h>

#include <utility>

#include "common/base/wall_clock.h"
#include "common/net/timer.h"
#include "peer/reach/dialer.h"

namespace confab::peer {

// ---- the real clock and transports -------------------------------------------

namespace {

class TimerAlarm final : public Dialer::Clock::Alarm, private net::Timer::Delegate {
 public:
  explicit TimerAlarm(std::function<void()> fire) : fire_(std::move(fire)) {}
  Status Init(net::Loop& loop) {
    CONFAB_ASSIGN_OR_RETURN(timer_, net::Timer::Create(loop, this));
    return Status::Ok();
  }
  void Start(uint64_t timeout_ms) override {
    if (timer_)
      (void)timer_->Start(timeout_ms);
  }

 private:
  void OnTimer() override {
    std::function<void()> fire = fire_;  // `fire` may destroy us
    fire();
  }
  std::function<void()> fire_;
  std::unique_ptr<net::Timer> timer_;
};

}  // namespace

int64_t LoopClock::NowMs() {
  return confab::NowMs();
}

int64_t LoopClock::NowUnix() {
  return confab::NowUnix();
}

std::unique_ptr<Dialer::Clock::Alarm> LoopClock::NewAlarm(std::function<void()> fire) {
  auto alarm = std::make_unique<TimerAlarm>(std::move(fire));
  if (Status s = alarm->Init(loop_); !s.ok())
    spdlog::warn("dialer timer: {}", s.ToString());  // the loop is closing: nothing fires
  return alarm;
}

// One dial: the connection's delegate until it is established (handed over)
// or closed. Abandoned (its Token destroyed), it closes the connection and
// frees itself from OnClosed, reporting nothing.
class ChannelTransports::Job final : public channel::ChannelConnection::Delegate {
 public:
  Job(ChannelTransports& owner, Dialer::DialDone done) : owner_(owner), done_(std::move(done)) {}

  ChannelTransports& owner_;
  Dialer::DialDone done_;
  std::unique_ptr<channel::ChannelConnection> conn;
  Token* token = nullptr;

  void Abandon() {
    token = nullptr;
    done_ = nullptr;
    if (conn)
      conn->Close();  // OnClosed frees the job
  }

 private:
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("an initiator gets no hello");
  }
  Status OnWelcome(channel::ChannelConnection&, ByteView) override;
  Status OnMessage(channel::ChannelConnection&, ByteView) override {
    return Status::FailedPrecondition("a message before the channel was handed over");
  }
  void OnClosed(channel::ChannelConnection&, Status status) override;
};

class ChannelTransports::Token final : public Dialer::Transports::Pending {
 public:
  explicit Token(Job* job) : job_(job) { job_->token = this; }
  ~Token() override {
    if (job_ != nullptr)
      job_->Abandon();
  }
  void Detach() { job_ = nullptr; }

 private:
  Job* job_;
};

Status ChannelTransports::Job::OnWelcome(channel::ChannelConnection&, ByteView) {
  // Established: the connection goes to the dialer's requester, which sets
  // its own delegate before this returns; the job is done.
  std::unique_ptr<Job> self = std::move(owner_.jobs_[this]);
  owner_.jobs_.erase(this);
  if (token != nullptr)
    token->Detach();
  Dialer::DialDone done = std::move(done_);
  if (done)
    done(std::move(conn));
  return Status::Ok();  // `self` goes here; the channel no longer calls it
}

void ChannelTransports::Job::OnClosed(channel::ChannelConnection&, Status status) {
  if (token != nullptr)
    token->Detach();
  Dialer::DialDone done = std::move(done_);
  std::unique_ptr<channel::ChannelConnection> dead = std::move(conn);
  std::unique_ptr<Job> self = std::move(owner_.jobs_[this]);
  owner_.jobs_.erase(this);
  if (done)
    done(status.ok() ? Status::Unavailable("closed before the channel was established")
                     : std::move(status));
  // `dead` and `self` go here: destroying the connection from its OnClosed
  // is allowed.
}

ChannelTransports::ChannelTransports(net::Loop& loop, UdpPaths* udp) : loop_(loop), udp_(udp) {}

ChannelTransports::~ChannelTransports() {
  for (auto& [raw, job] : jobs_) {
    job->done_ = nullptr;
    if (job->token != nullptr)
      job->token->Detach();
  }
}

Result<std::unique_ptr<Dialer::Transports::Pending>> ChannelTransports::DialTcp(
    const net::Address& to, channel::InitiatorParams params,
    const net::TcpConnectionOptions& options, Dialer::DialDone done) {
  auto job = std::make_unique<Job>(*this, std::move(done));
  CONFAB_ASSIGN_OR_RETURN(job->conn, channel::ChannelConnection::Connect(
                                         loop_, to, std::move(params), job.get(), options));
  return Start(std::move(job));
}

Result<std::unique_ptr<Dialer::Transports::Pending>> ChannelTransports::DialUdp(
    std::vector<net::Address> candidates, channel::InitiatorParams params, udp::SessionId* session,
    Dialer::DialDone done) {
  if (udp_ == nullptr)
    return Status::Unavailable("no UDP side");
  auto job = std::make_unique<Job>(*this, std::move(done));
  CONFAB_ASSIGN_OR_RETURN(
      job->conn, udp_->DialChannel(std::move(candidates), std::move(params), job.get(), session));
  return Start(std::move(job));
}

Result<std::unique_ptr<Dialer::Transports::Pending>> ChannelTransports::DialRelay(
    const std::string& name, channel::InitiatorParams params, Dialer::DialDone done) {
  if (relay_ == nullptr)
    return Status::Unavailable("no relay side");
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<net::ByteStream> stream, relay_->OpenRelay(name));
  auto job = std::make_unique<Job>(*this, std::move(done));
  CONFAB_ASSIGN_OR_RETURN(job->conn,
                          channel::ChannelConnection::ConnectOver(std::move(stream), std::nullopt,
                                                                  std::move(params), job.get()));
  return Start(std::move(job));
}

Result<std::unique_ptr<Dialer::Transports::Pending>> ChannelTransports::Start(
    std::unique_ptr<Job> job) {
  Job* raw = job.get();
  jobs_.emplace(raw, std::move(job));
  return std::unique_ptr<Pending>(std::make_unique<Token>(raw));
}

}  // namespace confab::peer
