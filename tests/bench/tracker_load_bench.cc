// tracker_load_bench: the tracker under load (issue 3, item 8).
//
// It creates a fresh tracker state with the real `confab-tracker init`,
// enrolls N members straight into the directory (org-signed certificates
// through invite + Enroll, before the tracker starts), starts the real
// `confab-tracker serve` as a child process, then from this one process and
// one libuv loop opens N member sessions (real Noise IK handshakes, real
// certificates) from many source addresses in 127.0.0.0/8, and measures:
//   - sustained handshakes/s while ramping up to N online,
//   - tracker RSS per online member (VmRSS with N online minus VmRSS before),
//   - lookup latency p50/p99 with N online (paced lookups from a few sessions,
//     send to LookupResult),
//   - the time for one status change to reach 1,000 subscribers (SetStatus
//     sent to the last PresenceDelta received),
// each beside its target, and a baseline from the same run: raw TCP
// connects/s and a TCP echo round trip against a plain libuv echo server in
// a child process, on the same loopback.
//
// Everything stays on 127.0.0.0/8 and the run stops by itself (each phase
// has a deadline). Usage: tracker_load_bench [--members N] [--sources K]
// [--window W] [--lookups L] [--subscribers S] [--tracker PATH]
// [--state-root DIR] [--keep-state]
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sodium.h>

#include "common/channel/channel_connection.h"
#include "common/crypto/identity.h"
#include "common/crypto/invite.h"
#include "common/net/address.h"
#include "common/net/loop.h"
#include "common/net/tcp_connection.h"
#include "common/net/tcp_listener.h"
#include "common/net/timer.h"
#include "proto/tracker.pb.h"
#include "tracker/state.h"

namespace confab::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Targets from the issue (2 cores, tracker and generator together).
constexpr size_t kTargetOnline = 50000;
constexpr double kTargetBytesPerMember = 4096;
constexpr double kTargetHandshakesPerSecond = 3000;
constexpr double kTargetLookupP99Ms = 5;
constexpr double kTargetFanoutMs = 100;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Flags {
  size_t members = 0;  // 0: the largest that fits the fd limit
  size_t sources = 250;
  size_t window = 256;  // handshakes in flight
  size_t lookups = 2000;
  size_t lookup_sessions = 40;
  double lookup_rate = 1000;  // per second, all sessions together
  size_t subscribers = 1000;
  size_t fanout_rounds = 5;
  size_t baseline_connects = 5000;
  size_t echo_pings = 2000;
  std::string tracker;
  std::string state_root;
  bool keep_state = false;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "tracker_load_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& status, const std::string& what) {
  if (!status.ok())
    Die(what + ": " + status.ToString());
}

template <typename T>
T Take(Result<T> result, const std::string& what) {
  if (!result.ok())
    Die(what + ": " + result.status().ToString());
  return std::move(result).value();
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        Die(arg + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> size_t {
      std::string v = value();
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0')
        Die(arg + ": not a number: " + v);
      return static_cast<size_t>(n);
    };
    if (arg == "--members") {
      f.members = number();
    } else if (arg == "--sources") {
      f.sources = std::max<size_t>(1, number());
    } else if (arg == "--window") {
      f.window = std::max<size_t>(1, number());
    } else if (arg == "--lookups") {
      f.lookups = number();
    } else if (arg == "--subscribers") {
      f.subscribers = number();
    } else if (arg == "--tracker") {
      f.tracker = value();
    } else if (arg == "--state-root") {
      f.state_root = value();
    } else if (arg == "--keep-state") {
      f.keep_state = true;
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: tracker_load_bench [--members N] [--sources K] [--window W] [--lookups L]\n"
          "       [--subscribers S] [--tracker PATH] [--state-root DIR] [--keep-state]\n");
      std::exit(0);
    } else {
      Die("unknown flag " + arg + " (see --help)");
    }
  }
  return f;
}

// 127.1.x.y, y in 1..250: source address number `i`.
net::Address SourceAddress(size_t i) {
  const std::string ip =
      "127.1." + std::to_string((i / 250) % 256) + "." + std::to_string(i % 250 + 1);
  return Take(net::Address::FromIp(ip, 0), "source address");
}

// VmRSS of `pid` in bytes, 0 if unreadable.
uint64_t ResidentBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

// utime + stime of `pid` in seconds (/proc/<pid>/stat fields 14 and 15).
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos)
    return NAN;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14)
      ticks += std::strtod(field.c_str(), nullptr);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty())
    return NAN;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * values.size()));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Runs `loop` until `done()` or `timeout_ms`, calling `step()` after every
// iteration; a 1 ms tick keeps the iterations coming. Returns done().
bool RunUntil(net::Loop& loop, const std::function<bool()>& done, double timeout_ms,
              const std::function<void()>& step = {}) {
  struct Tick final : net::Timer::Delegate {
    void OnTimer() override {}
  } tick;
  auto timer = Take(net::Timer::Create(loop, &tick), "timer");
  Check(timer->Start(1, 1), "timer start");
  const auto start = Clock::now();
  while (!done() && MsSince(start) < timeout_ms) {
    Check(loop.Run(net::Loop::RunMode::kOnce), "loop");
    if (step)
      step();
  }
  return done();
}

// fork + exec with stdout and stderr to `log_fd`; the child dies with us.
pid_t Spawn(const std::vector<std::string>& argv, int log_fd) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0)
    Die(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

// Waits up to `timeout_ms` for `pid`; SIGKILL after that. The exit status.
int Reap(pid_t pid, double timeout_ms) {
  const auto start = Clock::now();
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r < 0)
      return -1;
    if (MsSince(start) > timeout_ms) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return status;
    }
    ::usleep(10000);
  }
}

// ---------------------------------------------------------------------------
// Baseline: a plain libuv echo server in a child process.

struct EchoServer final : net::TcpListener::Delegate {
  struct Peer final : net::TcpConnection::Delegate {
    EchoServer* server = nullptr;
    std::unique_ptr<net::TcpConnection> conn;
    void OnConnected() override {}
    void OnRead(ByteView data) override { (void)conn->Write(ToBytes(data)); }
    void OnWritable() override {}
    void OnClosed(Status) override { server->peers.erase(this); }  // destroys us: last
  };
  std::unique_ptr<net::TcpListener> listener;
  std::unordered_map<Peer*, std::unique_ptr<Peer>> peers;

  void OnIncoming(Status status) override {
    if (!status.ok())
      return;
    auto peer = std::make_unique<Peer>();
    peer->server = this;
    auto conn = listener->Accept(peer.get());
    if (!conn.ok())
      return;
    peer->conn = std::move(conn).value();
    if (!peer->conn->StartReading().ok())
      return;
    Peer* raw = peer.get();
    peers.emplace(raw, std::move(peer));
  }
};

// Forks the echo server; returns its pid and port. Call before any Loop
// exists in this process.
std::pair<pid_t, uint16_t> StartEchoServer() {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0)
    Die("pipe");
  const pid_t pid = ::fork();
  if (pid < 0)
    Die("fork");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(pipe_fds[0]);
    auto loop = net::Loop::Create();
    if (!loop.ok())
      ::_exit(1);
    EchoServer server;
    auto at = net::Address::FromIp("127.0.0.1", 0);
    auto listener = net::TcpListener::Create(**loop, *at, &server, 4096);
    if (!listener.ok())
      ::_exit(1);
    server.listener = std::move(listener).value();
    const uint16_t port = server.listener->port();
    if (::write(pipe_fds[1], &port, sizeof(port)) != sizeof(port))
      ::_exit(1);
    ::close(pipe_fds[1]);
    (void)(*loop)->Run();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  uint16_t port = 0;
  if (::read(pipe_fds[0], &port, sizeof(port)) != sizeof(port))
    Die("echo server did not start");
  ::close(pipe_fds[0]);
  return {pid, port};
}

struct RawClient final : net::TcpConnection::Delegate {
  std::unique_ptr<net::TcpConnection> conn;
  size_t* finished = nullptr;  // connected or failed
  size_t* failed = nullptr;
  bool connected = false;
  bool closed = false;
  size_t received = 0;
  void OnConnected() override {
    connected = true;
    ++*finished;
  }
  void OnRead(ByteView data) override { received += data.size(); }
  void OnWritable() override {}
  void OnClosed(Status) override {
    if (!connected && !closed) {
      ++*finished;
      ++*failed;
    }
    closed = true;
  }
};

struct Baseline {
  size_t connects = 0;
  double connects_per_second = 0;
  double echo_p50_us = NAN;
  double echo_p99_us = NAN;
};

Baseline MeasureBaseline(net::Loop& loop, const Flags& flags, uint16_t echo_port) {
  Baseline b;
  const net::Address to = Take(net::Address::FromIp("127.0.0.1", echo_port), "echo address");
  std::vector<std::unique_ptr<RawClient>> clients(flags.baseline_connects);
  size_t next = 0, done = 0, failed = 0;
  // Same window and source addresses as the tracker ramp.
  const auto start = Clock::now();
  auto step = [&] {
    while (next < clients.size() && next - done < flags.window) {
      auto client = std::make_unique<RawClient>();
      client->finished = &done;
      client->failed = &failed;
      net::TcpConnectionOptions options;
      options.bind_local = SourceAddress(next % flags.sources);
      auto conn = net::TcpConnection::Connect(loop, to, client.get(), options);
      if (!conn.ok())
        Die("baseline connect: " + conn.status().ToString());
      client->conn = std::move(conn).value();
      clients[next++] = std::move(client);
    }
  };
  step();
  RunUntil(
      loop, [&] { return done == clients.size(); }, 30000, step);
  const double elapsed = MsSince(start);
  b.connects = done - failed;
  b.connects_per_second = b.connects / (elapsed / 1000.0);

  // Echo round trips on one connection, one 64-byte message at a time.
  RawClient* echo = nullptr;
  for (auto& c : clients) {
    if (c && c->connected && !c->closed) {
      echo = c.get();
      break;
    }
  }
  if (echo != nullptr && echo->conn->StartReading().ok()) {
    std::vector<double> rtts;
    for (size_t i = 0; i < flags.echo_pings; ++i) {
      const size_t want = echo->received + 64;
      const auto sent = Clock::now();
      if (!echo->conn->Write(Bytes(64, static_cast<uint8_t>(i))).ok())
        break;
      if (!RunUntil(
              loop, [&] { return echo->received >= want || echo->closed; }, 2000))
        break;
      rtts.push_back(MsSince(sent) * 1000.0);
    }
    b.echo_p50_us = Percentile(rtts, 50);
    b.echo_p99_us = Percentile(rtts, 99);
  }
  for (auto& c : clients) {
    if (c && c->conn)
      c->conn->Close();
  }
  RunUntil(
      loop,
      [&] {
        return std::all_of(clients.begin(), clients.end(),
                           [](const auto& c) { return !c || !c->conn || c->closed; });
      },
      10000);
  return b;
}

// The public-key work one tracker session handshake needs, timed with raw
// libsodium on this machine: Noise IK as responder is 5 X25519 operations
// (one key generation, four DH), plus the certificate's Ed25519 signature
// check and the Ed25519 -> X25519 conversion that binds the certificate to
// the Noise key. Microseconds for all of it: the floor per handshake.
struct CryptoFloor {
  double x25519_us = 0;
  double verify_us = 0;
  double to_curve_us = 0;
  double total_us() const { return 5 * x25519_us + verify_us + to_curve_us; }
};

CryptoFloor MeasureCryptoFloor() {
  CryptoFloor f;
  constexpr int kRounds = 2000;
  uint8_t sk[crypto_scalarmult_SCALARBYTES], pk[crypto_scalarmult_BYTES],
      out[crypto_scalarmult_BYTES];
  randombytes_buf(sk, sizeof(sk));
  crypto_scalarmult_base(pk, sk);
  auto start = Clock::now();
  for (int i = 0; i < kRounds; ++i) {
    if (crypto_scalarmult(out, sk, pk) != 0)
      Die("crypto_scalarmult");
    pk[0] ^= out[0] & 1;  // keep the compiler honest
  }
  f.x25519_us = MsSince(start) * 1000.0 / kRounds;
  uint8_t ed_pk[crypto_sign_PUBLICKEYBYTES], ed_sk[crypto_sign_SECRETKEYBYTES],
      sig[crypto_sign_BYTES], curve[crypto_scalarmult_BYTES];
  crypto_sign_keypair(ed_pk, ed_sk);
  const uint8_t message[200] = {};
  crypto_sign_detached(sig, nullptr, message, sizeof(message), ed_sk);
  start = Clock::now();
  for (int i = 0; i < kRounds; ++i) {
    if (crypto_sign_verify_detached(sig, message, sizeof(message), ed_pk) != 0)
      Die("crypto_sign_verify_detached");
  }
  f.verify_us = MsSince(start) * 1000.0 / kRounds;
  start = Clock::now();
  for (int i = 0; i < kRounds; ++i) {
    if (crypto_sign_ed25519_pk_to_curve25519(curve, ed_pk) != 0)
      Die("crypto_sign_ed25519_pk_to_curve25519");
  }
  f.to_curve_us = MsSince(start) * 1000.0 / kRounds;
  return f;
}

// ---------------------------------------------------------------------------
// Members and their sessions.

struct MemberKeys {
  std::string name;
  crypto::noise::PrivateKey noise_private;
  Bytes certificate;  // serialized proto::Certificate
};

class Bench;

struct Session final : channel::ChannelConnection::Delegate {
  Bench* bench = nullptr;
  size_t index = 0;
  std::unique_ptr<channel::ChannelConnection> conn;
  Clock::time_point started;
  bool welcomed = false;
  bool closed = false;
  bool counted_failure = false;

  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("the generator never responds");
  }
  Status OnWelcome(channel::ChannelConnection& c, ByteView payload) override;
  Status OnMessage(channel::ChannelConnection& c, ByteView plaintext) override;
  void OnClosed(channel::ChannelConnection& c, Status status) override;

  Status Send(const proto::ToTracker& m) {
    const std::string bytes = m.SerializeAsString();
    return conn->Send(AsBytes(bytes));
  }
};

class Bench {
 public:
  Bench(net::Loop& loop, const Flags& flags, std::vector<MemberKeys> members,
        const net::Address& tracker, const crypto::noise::PublicKey& tracker_key)
      : loop_(loop),
        flags_(flags),
        members_(std::move(members)),
        tracker_(tracker),
        tracker_key_(tracker_key),
        sessions_(members_.size()) {}

  // --- ramp ---------------------------------------------------------------
  struct RampResult {
    size_t online = 0;
    size_t failed = 0;
    double elapsed_ms = 0;
    double per_second = 0;
    double peak_per_second = 0;  // best one-second window
    double handshake_p50_ms = NAN;
    double handshake_p99_ms = NAN;
    std::string first_failure;
  };

  RampResult Ramp(double timeout_ms) {
    RampResult r;
    ramp_start_ = Clock::now();
    auto step = [&] {
      while (next_ < sessions_.size() && next_ - finished_ < flags_.window)
        StartSession(next_++);
    };
    step();
    RunUntil(
        loop_, [&] { return finished_ == sessions_.size(); }, timeout_ms, step);
    r.elapsed_ms = last_welcome_ms_;
    r.online = welcomed_;
    r.failed = failed_;
    r.first_failure = first_failure_;
    r.per_second = welcomed_ / (last_welcome_ms_ / 1000.0);
    // Best one-second window of welcomes.
    std::vector<double> t = welcome_times_ms_;
    std::sort(t.begin(), t.end());
    for (size_t i = 0, j = 0; i < t.size(); ++i) {
      while (t[i] - t[j] > 1000.0)
        ++j;
      r.peak_per_second = std::max(r.peak_per_second, static_cast<double>(i - j + 1));
    }
    r.handshake_p50_ms = Percentile(handshake_ms_, 50);
    r.handshake_p99_ms = Percentile(handshake_ms_, 99);
    return r;
  }

  // --- lookups ------------------------------------------------------------
  struct LookupResult {
    size_t sent = 0;
    size_t answered = 0;
    size_t not_found = 0;
    size_t errors = 0;
    double p50_ms = NAN;
    double p99_ms = NAN;
    double max_ms = NAN;
  };

  LookupResult Lookups(size_t count, double timeout_ms) {
    LookupResult r;
    // The last few sessions ask (the first ones take part in the fan-out).
    std::vector<Session*> askers;
    for (size_t i = sessions_.size(); i-- > 0 && askers.size() < flags_.lookup_sessions;) {
      if (sessions_[i].welcomed && !sessions_[i].closed)
        askers.push_back(&sessions_[i]);
    }
    if (askers.empty() || count == 0)
      return r;
    lookup_sent_.assign(count, Clock::time_point());
    lookup_latency_ms_.clear();
    lookup_errors_ = 0;
    lookup_not_found_ = 0;
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<size_t> pick(0, members_.size() - 1);
    size_t sent = 0;
    const auto start = Clock::now();
    auto step = [&] {
      const size_t due =
          std::min(count, static_cast<size_t>(MsSince(start) * flags_.lookup_rate / 1000.0) + 1);
      while (sent < due) {
        proto::ToTracker m;
        m.mutable_lookup()->set_request_id(sent);
        m.mutable_lookup()->set_name(members_[pick(rng)].name);
        lookup_sent_[sent] = Clock::now();
        if (!askers[sent % askers.size()]->Send(m).ok())
          ++lookup_errors_;
        ++sent;
      }
    };
    step();
    RunUntil(
        loop_, [&] { return sent == count && lookup_latency_ms_.size() + lookup_errors_ >= count; },
        timeout_ms, step);
    r.sent = sent;
    r.answered = lookup_latency_ms_.size();
    r.not_found = lookup_not_found_;
    r.errors = lookup_errors_;
    r.p50_ms = Percentile(lookup_latency_ms_, 50);
    r.p99_ms = Percentile(lookup_latency_ms_, 99);
    r.max_ms = Percentile(lookup_latency_ms_, 100);
    return r;
  }

  // --- fan-out ------------------------------------------------------------
  struct FanoutResult {
    size_t subscribers = 0;
    std::vector<double> rounds_ms;  // SetStatus sent -> last delta received
    size_t incomplete = 0;
  };

  FanoutResult Fanout(size_t subscribers, size_t rounds, double timeout_ms) {
    FanoutResult r;
    if (sessions_.size() < subscribers + 1 || !sessions_[0].welcomed)
      return r;
    Session& target = sessions_[0];
    fanout_target_ = members_[0].name;
    // Subscribe sessions 1..subscribers to the target; each gets the current
    // entry back first.
    fanout_phase_ = FanoutPhase::kSubscribing;
    fanout_arrived_ = 0;
    fanout_seen_.assign(sessions_.size(), 0);
    size_t subscribed = 0;
    for (size_t i = 1; i <= subscribers; ++i) {
      if (!sessions_[i].welcomed || sessions_[i].closed)
        continue;
      proto::ToTracker m;
      m.mutable_subscribe()->add_names(fanout_target_);
      if (sessions_[i].Send(m).ok())
        ++subscribed;
    }
    r.subscribers = subscribed;
    RunUntil(
        loop_, [&] { return fanout_arrived_ >= subscribed; }, timeout_ms);
    for (size_t round = 1; round <= rounds; ++round) {
      // Let the loop go quiet between rounds.
      RunUntil(
          loop_, [] { return false; }, 200);
      fanout_phase_ = FanoutPhase::kRound;
      fanout_round_ = round;
      fanout_status_ = round % 2 == 1 ? proto::PRESENCE_AWAY : proto::PRESENCE_BUSY;
      fanout_text_ = "round " + std::to_string(round);
      fanout_arrived_ = 0;
      proto::ToTracker m;
      m.mutable_set_status()->set_status(fanout_status_);
      m.mutable_set_status()->set_text(fanout_text_);
      fanout_start_ = Clock::now();
      Check(target.Send(m), "set_status");
      if (RunUntil(
              loop_, [&] { return fanout_arrived_ >= subscribed; }, 5000)) {
        r.rounds_ms.push_back(fanout_last_ms_);
      } else {
        ++r.incomplete;
      }
    }
    fanout_phase_ = FanoutPhase::kIdle;
    return r;
  }

  // Closes every session and waits for the closes.
  void CloseAll() {
    for (Session& s : sessions_) {
      if (s.conn && !s.closed)
        s.conn->Close();
    }
    RunUntil(
        loop_,
        [&] {
          return std::all_of(sessions_.begin(), sessions_.end(),
                             [](const Session& s) { return !s.conn || s.closed; });
        },
        20000);
  }

  size_t unexpected_closes() const { return unexpected_closes_; }
  const std::string& first_unexpected_close() const { return first_unexpected_close_; }

  // --- upcalls from Session ---------------------------------------------
  Status OnWelcome(Session& s, ByteView payload) {
    proto::SessionWelcome welcome;
    if (!welcome.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
      return Fail(s, Status::Corruption("welcome does not parse"));
    if (!welcome.accepted())
      return Fail(s, Status::PermissionDenied("refused: " + welcome.refusal()));
    s.welcomed = true;
    ++welcomed_;
    ++finished_;
    last_welcome_ms_ = MsSince(ramp_start_);
    welcome_times_ms_.push_back(last_welcome_ms_);
    handshake_ms_.push_back(MsSince(s.started));
    return Status::Ok();
  }

  Status OnMessage(Session& s, ByteView plaintext) {
    proto::FromTracker m;
    if (!m.ParseFromArray(plaintext.data(), static_cast<int>(plaintext.size())))
      return Status::Corruption("message does not parse");
    switch (m.body_case()) {
      case proto::FromTracker::kLookup: {
        const uint64_t id = m.lookup().request_id();
        if (id < lookup_sent_.size()) {
          lookup_latency_ms_.push_back(MsSince(lookup_sent_[id]));
          if (!m.lookup().found())
            ++lookup_not_found_;
        }
        break;
      }
      case proto::FromTracker::kError:
        ++lookup_errors_;
        if (first_error_.empty())
          first_error_ = m.error().message();
        break;
      case proto::FromTracker::kPresence:
        OnPresence(s, m.presence());
        break;
      default:
        break;
    }
    return Status::Ok();
  }

  void OnClosed(Session& s, const Status& status) {
    s.closed = true;
    if (!s.welcomed) {
      (void)Fail(s, status.ok() ? Status::Closed("closed before the welcome") : status);
    } else if (!closing_) {
      ++unexpected_closes_;
      if (first_unexpected_close_.empty())
        first_unexpected_close_ = status.ToString();
    }
  }

  void set_closing() { closing_ = true; }
  const std::string& first_error() const { return first_error_; }

 private:
  enum class FanoutPhase { kIdle, kSubscribing, kRound };

  void StartSession(size_t i) {
    Session& s = sessions_[i];
    s.bench = this;
    s.index = i;
    s.started = Clock::now();
    proto::SessionHello hello;
    if (!hello.mutable_certificate()->ParseFromArray(
            members_[i].certificate.data(), static_cast<int>(members_[i].certificate.size())))
      Die("certificate does not parse");
    hello.set_protocol_version(1);
    const std::string payload = hello.SerializeAsString();
    channel::InitiatorParams params;
    params.purpose = proto::PURPOSE_TRACKER;
    params.local_static = members_[i].noise_private;
    params.remote_static = tracker_key_;
    params.payload = ToBytes(AsBytes(payload));
    net::TcpConnectionOptions options;
    options.bind_local = SourceAddress(i % flags_.sources);
    auto conn =
        channel::ChannelConnection::Connect(loop_, tracker_, std::move(params), &s, options);
    if (!conn.ok()) {
      s.closed = true;
      (void)Fail(s, conn.status());
      return;
    }
    s.conn = std::move(conn).value();
  }

  Status Fail(Session& s, Status status) {
    if (!s.welcomed && !s.counted_failure) {
      s.counted_failure = true;
      ++failed_;
      ++finished_;
      if (first_failure_.empty())
        first_failure_ = status.ToString();
    }
    return status;
  }

  void OnPresence(Session& s, const proto::PresenceDelta& delta) {
    if (fanout_phase_ == FanoutPhase::kIdle || s.index == 0)
      return;
    for (const proto::PresenceEntry& e : delta.entries()) {
      if (e.name() != fanout_target_)
        continue;
      if (fanout_phase_ == FanoutPhase::kSubscribing) {
        if (fanout_seen_[s.index] == 0) {
          fanout_seen_[s.index] = 1;  // round "0": the initial entry
          ++fanout_arrived_;
        }
      } else if (e.status() == fanout_status_ && e.text() == fanout_text_ &&
                 fanout_seen_[s.index] != fanout_round_ + 1) {
        fanout_seen_[s.index] = fanout_round_ + 1;
        ++fanout_arrived_;
        fanout_last_ms_ = MsSince(fanout_start_);
      }
    }
  }

  net::Loop& loop_;
  const Flags& flags_;
  std::vector<MemberKeys> members_;
  net::Address tracker_;
  crypto::noise::PublicKey tracker_key_;
  std::vector<Session> sessions_;

  // ramp
  Clock::time_point ramp_start_;
  size_t next_ = 0;
  size_t finished_ = 0;  // welcomed or failed
  size_t welcomed_ = 0;
  size_t failed_ = 0;
  double last_welcome_ms_ = 0;
  std::vector<double> welcome_times_ms_;
  std::vector<double> handshake_ms_;
  std::string first_failure_;
  bool closing_ = false;
  size_t unexpected_closes_ = 0;
  std::string first_unexpected_close_;

  // lookups
  std::vector<Clock::time_point> lookup_sent_;
  std::vector<double> lookup_latency_ms_;
  size_t lookup_errors_ = 0;
  size_t lookup_not_found_ = 0;
  std::string first_error_;

  // fan-out
  FanoutPhase fanout_phase_ = FanoutPhase::kIdle;
  std::string fanout_target_;
  size_t fanout_round_ = 0;
  proto::PresenceStatus fanout_status_ = proto::PRESENCE_ONLINE;
  std::string fanout_text_;
  std::vector<size_t> fanout_seen_;
  size_t fanout_arrived_ = 0;
  Clock::time_point fanout_start_;
  double fanout_last_ms_ = 0;
};

Status Session::OnWelcome(channel::ChannelConnection&, ByteView payload) {
  return bench->OnWelcome(*this, payload);
}
Status Session::OnMessage(channel::ChannelConnection&, ByteView plaintext) {
  return bench->OnMessage(*this, plaintext);
}
void Session::OnClosed(channel::ChannelConnection&, Status status) {
  bench->OnClosed(*this, status);
}

// ---------------------------------------------------------------------------

std::string DefaultTrackerPath() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    return "confab-tracker";
  return (self.parent_path() / ".." / ".." / "tracker" / "confab-tracker").lexically_normal();
}

std::string Fixed(double v, int digits) {
  if (std::isnan(v))
    return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

void Row(const std::string& metric, const std::string& measured, const std::string& target,
         const std::string& met) {
  std::printf("| %-42s | %-24s | %-16s | %-28s |\n", metric.c_str(), measured.c_str(),
              target.c_str(), met.c_str());
}

int Main(int argc, char** argv) {
  Flags flags = ParseFlags(argc, argv);
  if (flags.tracker.empty())
    flags.tracker = DefaultTrackerPath();
  if (::access(flags.tracker.c_str(), X_OK) != 0)
    Die("no confab-tracker at " + flags.tracker + " (pass --tracker PATH)");
  ::signal(SIGPIPE, SIG_IGN);

  // Raise our fd soft limit to the hard limit; the tracker inherits it.
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  const rlim_t soft_before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    Die(std::string("setrlimit: ") + std::strerror(errno));
  const uint64_t fd_limit = limit.rlim_max == RLIM_INFINITY ? 1u << 20 : limit.rlim_max;
  // Each side holds one fd per session, plus a few hundred for the rest.
  const size_t fits = fd_limit > 1000 ? static_cast<size_t>(fd_limit - 1000) : 0;
  if (flags.members == 0)
    flags.members = std::min(kTargetOnline, fits);
  if (flags.members > fits) {
    std::fprintf(stderr, "warning: --members %zu exceeds what fd limit %" PRIu64 " allows (%zu)\n",
                 flags.members, fd_limit, fits);
  }
  if (flags.members < flags.subscribers + 1 + flags.lookup_sessions)
    Die("--members too small for the fan-out and lookup phases");

  std::string load_at_start;
  {
    std::ifstream in("/proc/loadavg");
    std::getline(in, load_at_start);
    load_at_start = load_at_start.substr(0, load_at_start.find(' ', 15));
  }

  // The echo server forks before this process has a loop.
  auto [echo_pid, echo_port] = StartEchoServer();

  // A fresh state directory, on tmpfs when there is one (enrolling N members
  // is 2N durable SQLite transactions).
  if (flags.state_root.empty())
    flags.state_root = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string root = flags.state_root + "/confab-tracker-bench-XXXXXX";
  if (::mkdtemp(root.data()) == nullptr)
    Die("mkdtemp in " + flags.state_root + ": " + std::strerror(errno));
  const std::string state_dir = root + "/state";
  const std::string log_path = root + "/tracker.log";
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0)
    Die("open " + log_path);
  // Spawned children get log_fd through dup2 (which clears O_CLOEXEC).
  {
    const pid_t init = Spawn(
        {flags.tracker, "init", "--org", "bench", "--state", state_dir, "--listen", "127.0.0.1:0"},
        log_fd);
    const int status = Reap(init, 30000);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      Die("confab-tracker init failed; see " + log_path);
  }
  {
    std::ofstream toml(state_dir + "/tracker.toml", std::ios::app);
    toml << "\n# tracker_load_bench: every session comes from 127.1.0.0/16, so lift the\n"
            "# per-address handshake limits; room for every member.\n"
            "[limits]\n"
            "handshakes_per_second_per_address = 1000000\n"
            "handshake_burst_per_address = 1000000\n"
            "max_sessions = "
         << (flags.members + 1000)
         << "\n"
            "handshake_timeout = \"60s\"\n"
            "[session]\n"
            "keepalive_interval = \"120s\"\n"
            "timeout = \"600s\"\n";
    if (!toml)
      Die("cannot write tracker.toml");
  }

  // Enroll the members straight into the directory: invite + Enroll, with
  // the org key issuing real certificates.
  std::vector<MemberKeys> members;
  members.reserve(flags.members);
  crypto::noise::PublicKey tracker_key{};
  double enroll_ms = 0;
  {
    const auto start = Clock::now();
    auto state = Take(tracker::TrackerState::Open(state_dir), "open state");
    tracker_key = state->noise_static().public_key;
    const crypto::OrgKey& org = state->org_key();
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    const int64_t lifetime = state->config().certificate_lifetime.count();
    for (size_t i = 0; i < flags.members; ++i) {
      std::string name = "m";  // (not "m" + to_string: a g++ 12 -Wrestrict false positive)
      name += std::to_string(i);
      auto secret = crypto::NewInviteSecret();
      const auto hash = crypto::HashInviteSecret(secret.view());
      Check(state->directory().CreateInvite(name, hash, now, 3600), "invite " + name);
      auto key = Take(crypto::SigningKey::Generate(), "key");
      auto member =
          Take(state->directory().Enroll(hash, key.public_key(), now,
                                         [&](const tracker::Issuance& in) {
                                           return org.Issue(in.name, key.public_key(), in.serial,
                                                            in.issued_at, lifetime);
                                         }),
               "enroll " + name);
      members.push_back(MemberKeys{name, key.DeriveX25519().secret_key, member.certificate});
    }
    enroll_ms = MsSince(start);
  }

  // Start the real tracker.
  const std::string addr_path = state_dir + "/tracker.addr";
  const pid_t tracker_pid = Spawn({flags.tracker, "serve", "--state", state_dir}, log_fd);
  std::string addr_text;
  {
    const auto start = Clock::now();
    while (addr_text.empty() && MsSince(start) < 15000) {
      std::ifstream in(addr_path);
      std::getline(in, addr_text);
      if (addr_text.empty())
        ::usleep(20000);
      int status = 0;
      if (::waitpid(tracker_pid, &status, WNOHANG) == tracker_pid)
        Die("confab-tracker serve exited; see " + log_path);
    }
    if (addr_text.empty())
      Die("confab-tracker serve did not write " + addr_path);
  }
  const net::Address tracker_addr = Take(net::Address::Parse(addr_text), "tracker.addr");
  ::usleep(500000);  // let it settle
  const uint64_t rss_idle = ResidentBytes(tracker_pid);

  auto loop = Take(net::Loop::Create(), "loop");
  std::printf(
      "tracker_load_bench: %zu members, %zu source addresses, window %zu; tracker pid %d "
      "at %s\n",
      flags.members, flags.sources, flags.window, static_cast<int>(tracker_pid),
      tracker_addr.ToString().c_str());
  std::fflush(stdout);

  const Baseline baseline = MeasureBaseline(*loop, flags, echo_port);
  const CryptoFloor floor = MeasureCryptoFloor();
  ::kill(echo_pid, SIGKILL);
  Reap(echo_pid, 5000);

  Bench bench(*loop, flags, std::move(members), tracker_addr, tracker_key);
  const double tracker_cpu_before = CpuSeconds(tracker_pid);
  const double self_cpu_before = CpuSeconds(::getpid());
  const Bench::RampResult ramp = bench.Ramp(120000);
  const double tracker_cpu_ramp = CpuSeconds(tracker_pid) - tracker_cpu_before;
  const double self_cpu_ramp = CpuSeconds(::getpid()) - self_cpu_before;
  RunUntil(
      *loop, [] { return false; }, 1000);  // settle
  const uint64_t rss_online = ResidentBytes(tracker_pid);
  const uint64_t rss_self = ResidentBytes(::getpid());
  const Bench::LookupResult lookups = bench.Lookups(flags.lookups, 30000);
  const Bench::FanoutResult fanout = bench.Fanout(flags.subscribers, flags.fanout_rounds, 30000);
  const uint64_t rss_end = ResidentBytes(tracker_pid);

  // Stop the tracker first (it closes every session), then our side.
  bench.set_closing();
  const auto stop_start = Clock::now();
  ::kill(tracker_pid, SIGTERM);
  bench.CloseAll();
  const int tracker_status = Reap(tracker_pid, 30000);
  const double stop_ms = MsSince(stop_start);
  Check(loop->Close(), "loop close");

  // --- report ---------------------------------------------------------------
  const double per_member =
      ramp.online == 0 ? NAN
                       : (static_cast<double>(rss_online) - static_cast<double>(rss_idle)) /
                             static_cast<double>(ramp.online);
  double fanout_median = NAN, fanout_worst = NAN;
  if (!fanout.rounds_ms.empty()) {
    fanout_median = Percentile(fanout.rounds_ms, 50);
    fanout_worst = *std::max_element(fanout.rounds_ms.begin(), fanout.rounds_ms.end());
  }
  auto met = [](bool ok) { return std::string(ok ? "met" : "NOT met"); };

  std::printf("\nfd limit (RLIMIT_NOFILE): soft %" PRIu64 " -> %" PRIu64 ", hard %" PRIu64
              "; each process holds one fd per session\n",
              static_cast<uint64_t>(soft_before), static_cast<uint64_t>(limit.rlim_cur),
              static_cast<uint64_t>(limit.rlim_max));
  if (flags.members < kTargetOnline) {
    std::printf(
        "NOTE: %zu members, not %zu: the tracker needs one fd per session and the hard fd\n"
        "limit here is %" PRIu64
        " (it cannot be raised in this sandbox, not even as root), so at most\n"
        "~%" PRIu64 " sessions fit. The 50,000-online target could not be tried on this machine.\n",
        flags.members, kTargetOnline, fd_limit, fd_limit - 100);
  }
  {
    std::printf(
        "machine: %ld cores online, load average at the start %s (other work on the "
        "machine shows in the baseline below)\n",
        ::sysconf(_SC_NPROCESSORS_ONLN), load_at_start.c_str());
  }
  std::printf("enrolled %zu members (invite + Enroll, org-signed) in %.1f s; state on %s\n\n",
              flags.members, enroll_ms / 1000.0, flags.state_root.c_str());

  std::printf("baseline, same loopback, same run (plain libuv echo server in a child process):\n");
  std::printf("  raw TCP connects/s (window %zu, %zu connects)   %s /s\n", flags.window,
              baseline.connects, Fixed(baseline.connects_per_second, 0).c_str());
  std::printf("  TCP echo round trip, 64 B, p50 / p99           %s / %s us\n",
              Fixed(baseline.echo_p50_us, 0).c_str(), Fixed(baseline.echo_p99_us, 0).c_str());
  std::printf(
      "  public-key floor of one tracker handshake, raw libsodium, one core:\n"
      "    5 x X25519 (%.0f us each) + Ed25519 verify (%.0f us) + Ed25519->X25519 (%.0f us)"
      "\n    = %.0f us -> at most %.0f handshakes/s per core for the tracker alone\n\n",
      floor.x25519_us, floor.verify_us, floor.to_curve_us, floor.total_us(),
      1e6 / floor.total_us());

  Row("metric", "measured", "target", "met?");
  std::printf("|%s|%s|%s|%s|\n", std::string(44, '-').c_str(), std::string(26, '-').c_str(),
              std::string(18, '-').c_str(), std::string(30, '-').c_str());
  Row("members online at once",
      std::to_string(ramp.online) + " of " + std::to_string(flags.members), ">= 50,000",
      ramp.online >= kTargetOnline ? "met" : "not tried (fd hard limit)");
  Row("handshakes/s, sustained over the ramp", Fixed(ramp.per_second, 0), ">= 3,000",
      met(ramp.per_second >= kTargetHandshakesPerSecond));
  Row("tracker RSS per online member", Fixed(per_member / 1024.0, 2) + " KiB", "<= 4 KiB",
      met(per_member <= kTargetBytesPerMember));
  Row("lookup latency p50 / p99, N online",
      Fixed(lookups.p50_ms, 2) + " / " + Fixed(lookups.p99_ms, 2) + " ms", "p99 < 5 ms",
      met(lookups.p99_ms < kTargetLookupP99Ms && lookups.answered == lookups.sent));
  Row("status change -> " + std::to_string(fanout.subscribers) + " subscribers",
      Fixed(fanout_median, 1) + " ms (worst " + Fixed(fanout_worst, 1) + ")", "< 100 ms",
      met(fanout_worst < kTargetFanoutMs && fanout.incomplete == 0 && fanout.subscribers >= 1000));

  std::printf("\ndetails:\n");
  std::printf(
      "  ramp: %zu welcomed, %zu failed%s%s in %.2f s; peak 1-s window %s/s; "
      "handshake (connect to welcome, %zu in flight) p50 %s ms, p99 %s ms\n",
      ramp.online, ramp.failed, ramp.first_failure.empty() ? "" : " (first: ",
      ramp.first_failure.empty() ? "" : (ramp.first_failure + ")").c_str(),
      ramp.elapsed_ms / 1000.0, Fixed(ramp.peak_per_second, 0).c_str(), flags.window,
      Fixed(ramp.handshake_p50_ms, 1).c_str(), Fixed(ramp.handshake_p99_ms, 1).c_str());
  std::printf(
      "  CPU during the ramp: tracker %.2f s (%.0f%% of one core, %.0f us per handshake), "
      "generator %.2f s (%.0f%%)\n",
      tracker_cpu_ramp, 100.0 * tracker_cpu_ramp / (ramp.elapsed_ms / 1000.0),
      1e6 * tracker_cpu_ramp / static_cast<double>(std::max<size_t>(1, ramp.online)), self_cpu_ramp,
      100.0 * self_cpu_ramp / (ramp.elapsed_ms / 1000.0));
  std::printf(
      "  tracker VmRSS: %.1f MiB idle (members enrolled, no sessions), %.1f MiB with %zu "
      "online, %.1f MiB at the end; generator %.1f MiB\n",
      rss_idle / 1048576.0, rss_online / 1048576.0, ramp.online, rss_end / 1048576.0,
      rss_self / 1048576.0);
  std::printf(
      "  lookups: %zu sent at %.0f/s from %zu sessions, %zu answered (%zu not found), "
      "%zu errors%s%s; max %s ms\n",
      lookups.sent, flags.lookup_rate, flags.lookup_sessions, lookups.answered, lookups.not_found,
      lookups.errors, bench.first_error().empty() ? "" : ": ", bench.first_error().c_str(),
      Fixed(lookups.max_ms, 2).c_str());
  std::printf("  fan-out: %zu rounds, %zu incomplete; per round (ms):", fanout.rounds_ms.size(),
              fanout.incomplete);
  for (double ms : fanout.rounds_ms)
    std::printf(" %.1f", ms);
  std::printf(
      "\n  sessions closed unexpectedly before the end: %zu%s%s\n", bench.unexpected_closes(),
      bench.first_unexpected_close().empty() ? "" : " (first: ",
      bench.first_unexpected_close().empty() ? "" : (bench.first_unexpected_close() + ")").c_str());
  std::printf(
      "  tracker stop with %zu online (SIGTERM to exit, each session's last-seen "
      "written): %.2f s\n",
      ramp.online, stop_ms / 1000.0);
  std::printf("  tracker exit: %s; log %s\n",
              WIFEXITED(tracker_status)
                  ? ("status " + std::to_string(WEXITSTATUS(tracker_status))).c_str()
                  : "killed",
              flags.keep_state ? log_path.c_str() : "(removed)");
  ::close(log_fd);
  if (!flags.keep_state) {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  return 0;
}

}  // namespace
}  // namespace confab::bench

int main(int argc, char** argv) {
  return confab::bench::Main(argc, argv);
}
