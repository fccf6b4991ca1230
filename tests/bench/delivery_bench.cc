// delivery_bench: end-to-end durable delivery between two nodes on loopback
// (issue 4, item 9), beside a plain TCP ping-pong measured in the same run.
//
// It starts a real `confab-tracker serve`, enrols alice and bob with real
// invite codes and `confab join`, and runs bob as a real `confab up`
// process: the receiver, whose commit (synchronous=FULL) every ack waits
// for. Alice is a peer::Node in this process, the same code `confab up`
// runs, so the bench sees her acks the moment they are processed
// (DeliveryObserver) instead of polling `confab history`. Every message goes
// through Messenger (durable outbox) -> ChatSessions (Noise IK, TCP) ->
// bob's ChatSessions -> Messenger::Receive (one commit) -> Ack -> alice's
// Messenger::OnAck (delivered, committed).
//
// Rows:
//   round trip    Node::Queue (durable in alice's outbox) to the ack
//                 processed, one message at a time, p50/p99;
//   throughput    N messages queued in batches, time until the last ack;
//   TCP baseline  ping-pong of a frame the size of one chat frame, between
//                 two threads over loopback with TCP_NODELAY;
//   commit        one small durable SQLite commit (WAL, synchronous=FULL)
//                 on the same disk: a round trip holds at least two in
//                 series (alice's outbox, bob's store), so twice this plus
//                 the TCP round trip is its floor;
//   idle CPU      bob's utime+stime (/proc/PID/stat) and wakeups (voluntary
//                 context switches) over an idle window with the session
//                 open; alice's (this process, only her loop running) too.
//
// Usage: delivery_bench --confab PATH --tracker PATH [--latency N] [--throughput N]
//                       [--idle-seconds S] [--dir DIR] [--keep]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/base/log.h"
#include "common/crypto/key_file.h"
#include "common/crypto/sodium.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "peer/chat/messenger.h"
#include "peer/node/home.h"
#include "peer/node/node.h"
#include "proto/peer.pb.h"

namespace {

namespace peer = confab::peer;
namespace net = confab::net;
using Clock = std::chrono::steady_clock;

// A typical chat line (as messaging_bench).
const std::string kText =
    "Sounds good, I'll push the fix after lunch and ping you when the build is green again.";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "delivery_bench: %s\n", what.c_str());
  std::exit(1);
}

double UsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string LoadAverage() {
  std::string text = ReadFile("/proc/loadavg");
  std::istringstream in(text);
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// ---- child processes --------------------------------------------------------

// Runs argv with CONFAB_HOME=home (if set), stdin from /dev/null, stdout and
// stderr to `log` (appended); returns the pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& home, const std::string& log) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    Die("fork failed");
  if (pid == 0) {
    if (!home.empty())
      setenv("CONFAB_HOME", home.c_str(), 1);
    FILE* in = std::freopen("/dev/null", "r", stdin);
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    (void)in;
    (void)out;
    dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs argv to completion; dies unless it exits 0. Returns its output.
std::string RunOk(const std::vector<std::string>& argv, const std::string& home,
                  const std::string& out) {
  std::filesystem::remove(out);
  if (int code = Wait(Spawn(argv, home, out)); code != 0)
    Die(argv[0] + " " + argv[1] + " exited " + std::to_string(code) + ": " + ReadFile(out));
  return ReadFile(out);
}

void WaitFor(const std::string& what, const std::function<bool()>& ready, double seconds) {
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (!ready()) {
    if (Clock::now() > deadline)
      Die("timed out waiting for " + what);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

struct ProcCpu {
  double cpu_ms = 0;            // utime + stime
  long voluntary_switches = 0;  // wakeups, roughly
};

ProcCpu ReadProcCpu(pid_t pid) {
  ProcCpu out;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  // Fields after the ")" that closes comm: state is field 3; utime 14, stime 15.
  size_t close = stat.rfind(')');
  std::istringstream in(stat.substr(close + 2));
  std::vector<std::string> f;
  std::string word;
  while (in >> word)
    f.push_back(word);
  if (f.size() > 13) {
    const double tick_ms = 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
    out.cpu_ms = (std::stod(f[11]) + std::stod(f[12])) * tick_ms;
  }
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
      out.voluntary_switches = std::stol(line.substr(line.find(':') + 1));
  }
  return out;
}

double SelfCpuMs() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return (static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000.0) +
         (static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1000.0);
}

// ---- the plain TCP baseline ------------------------------------------------

void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0)
      Die("baseline write failed");
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void ReadAll(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r <= 0)
      Die("baseline read failed");
    p += r;
    n -= static_cast<size_t>(r);
  }
}

// Round trips of `size` bytes each way; microseconds each.
std::vector<double> TcpPingPong(size_t size, int rounds) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    Die("baseline listen failed");
  const int one = 1;
  std::thread echo([&] {
    int fd = accept(listener, nullptr, nullptr);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<char> buf(size);
    for (int i = 0; i < rounds; ++i) {
      ReadAll(fd, buf.data(), size);
      WriteAll(fd, buf.data(), size);
    }
    close(fd);
  });
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    Die("baseline connect failed");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<char> buf(size, 'x');
  std::vector<double> us;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = Clock::now();
    WriteAll(fd, buf.data(), size);
    ReadAll(fd, buf.data(), size);
    us.push_back(UsSince(t0));
  }
  echo.join();
  close(fd);
  close(listener);
  return us;
}

// ---- the durable-commit baseline ----------------------------------------------

// One small row per transaction into a fresh SQLite database in `dir` with
// confab.db's settings (WAL, synchronous=FULL): what one durable commit
// costs on this disk right now. Microseconds each.
std::vector<double> SqliteCommits(const std::string& dir, int rounds) {
  const std::string path = dir + "/commit-baseline.db";
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK ||
      sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL);",
                   nullptr, nullptr, nullptr) != SQLITE_OK)
    Die("baseline database: " + std::string(sqlite3_errmsg(db)));
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t (body) VALUES (?1)", -1, &insert, nullptr);
  std::vector<double> us;
  for (int i = 0; i < rounds; ++i) {
    auto t0 = Clock::now();
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_bind_blob(insert, 1, kText.data(), static_cast<int>(kText.size()), SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE)
      Die("baseline insert failed");
    sqlite3_reset(insert);
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      Die("baseline commit failed");
    us.push_back(UsSince(t0));
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return us;
}

// ---- alice, in this process --------------------------------------------------

// Drives alice's node from her loop: a 0 ms timer takes each next step, and
// OnDelivered counts acks.
class Driver final : public peer::DeliveryObserver, public net::Timer::Delegate {
 public:
  enum class Phase { kWarmup, kLatency, kThroughput, kIdle, kDone };

  Driver(net::Loop& loop, int latency_n, int throughput_n, int idle_seconds)
      : loop_(loop),
        latency_n_(latency_n),
        throughput_n_(throughput_n),
        idle_seconds_(idle_seconds) {}

  void Attach(peer::Node* node, std::unique_ptr<net::Timer> timer) {
    node_ = node;
    timer_ = std::move(timer);
    Queue(1);  // warm-up: lookup, handshake, pinning
  }

  void OnDelivered(const std::string& /*contact*/, int64_t count) override {
    delivered_ += count;
    switch (phase_) {
      case Phase::kWarmup:
        phase_ = Phase::kLatency;
        delivered_ = 0;
        Step();
        break;
      case Phase::kLatency:
        latency_us_.push_back(UsSince(sent_at_));
        after_queue_us_.push_back(UsSince(queued_at_));
        if (static_cast<int>(latency_us_.size()) < latency_n_) {
          Step();
        } else {
          phase_ = Phase::kThroughput;
          delivered_ = 0;
          queued_ = 0;
          throughput_start_ = Clock::now();
          Step();
        }
        break;
      case Phase::kThroughput:
        if (delivered_ >= throughput_n_) {
          throughput_s_ = UsSince(throughput_start_) / 1e6;
          StartIdle();
        }
        break;
      default:
        break;
    }
  }

  void OnTimer() override {
    if (phase_ == Phase::kIdle) {
      idle_alice_cpu_ms_ = SelfCpuMs() - idle_alice_cpu_ms_;
      idle_bob_ = ReadProcCpu(bob_pid_);
      idle_s_ = UsSince(idle_start_) / 1e6;
      phase_ = Phase::kDone;
      loop_.Stop();
      return;
    }
    if (phase_ == Phase::kLatency) {
      sent_at_ = Clock::now();
      Queue(1);
      queued_at_ = Clock::now();
    } else if (phase_ == Phase::kThroughput) {
      // Batches of kMaxComposeBatch, one per loop iteration, so sending
      // overlaps queueing as it would with a script piping lines in.
      const int n = std::min<int>(static_cast<int>(peer::kMaxComposeBatch),
                                  throughput_n_ - static_cast<int>(queued_));
      Queue(n);
      queued_ += n;
      if (static_cast<int>(queued_) < throughput_n_)
        Step();
      else
        queued_s_ = UsSince(throughput_start_) / 1e6;
    }
  }

  void set_bob_pid(pid_t pid) { bob_pid_ = pid; }
  ProcCpu idle_bob_before_;

  Phase phase_ = Phase::kWarmup;
  std::vector<double> latency_us_;
  std::vector<double> after_queue_us_;  // from Queue's return (durably queued)
  double throughput_s_ = 0, queued_s_ = 0;
  double idle_alice_cpu_ms_ = 0, idle_s_ = 0;
  ProcCpu idle_bob_;

 private:
  void Step() { (void)timer_->Start(0); }
  void Queue(int n) {
    std::vector<std::string> texts(static_cast<size_t>(n), kText);
    if (auto q = node_->Queue("bob", texts); !q.ok())
      Die("queue: " + q.status().ToString());
  }
  void StartIdle() {
    phase_ = Phase::kIdle;
    idle_start_ = Clock::now();
    idle_alice_cpu_ms_ = SelfCpuMs();
    idle_bob_before_ = ReadProcCpu(bob_pid_);
    (void)timer_->Start(static_cast<uint64_t>(idle_seconds_) * 1000);
  }

  net::Loop& loop_;
  const int latency_n_, throughput_n_, idle_seconds_;
  peer::Node* node_ = nullptr;
  std::unique_ptr<net::Timer> timer_;
  Clock::time_point sent_at_, queued_at_, throughput_start_, idle_start_;
  int64_t delivered_ = 0, queued_ = 0;
  pid_t bob_pid_ = 0;
};

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string confab, tracker, base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  int latency_n = 2000, throughput_n = 100000, idle_seconds = 60;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--confab")
      confab = next();
    else if (a == "--tracker")
      tracker = next();
    else if (a == "--latency")
      latency_n = std::stoi(next());
    else if (a == "--throughput")
      throughput_n = std::stoi(next());
    else if (a == "--idle-seconds")
      idle_seconds = std::stoi(next());
    else if (a == "--dir")
      base = next();
    else if (a == "--keep")
      keep = true;
    else
      Die("unknown argument " + a);
  }
  if (confab.empty() || tracker.empty())
    Die("usage: delivery_bench --confab PATH --tracker PATH [--latency N] [--throughput N] "
        "[--idle-seconds S] [--dir DIR] [--keep]");
  if (!confab::crypto::InitSodium().ok())
    Die("libsodium failed to start");
  (void)confab::InitLogging("delivery_bench", "warn");
  std::signal(SIGPIPE, SIG_IGN);
  const std::string load_before = LoadAverage();

  std::string dir = base + "/confab-delivery-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr)
    Die("cannot create a directory under " + base);
  const std::string state = dir + "/tracker", alice_home = dir + "/alice", bob_home = dir + "/bob";

  // The chat frame on the wire for one message: the TCP baseline's size.
  confab::proto::PeerMessage sample;
  sample.mutable_chat()->set_id(std::string(16, 'i'));
  sample.mutable_chat()->set_seq(1000);
  sample.mutable_chat()->set_sent_unix_ms(1'800'000'000'000);
  sample.mutable_chat()->set_text(kText);
  const size_t frame_bytes = 2 + sample.ByteSizeLong() + 16;   // length, message, AEAD tag
  std::vector<double> tcp_us = TcpPingPong(frame_bytes, 200);  // warm-up
  tcp_us = TcpPingPong(frame_bytes, std::max(latency_n, 2000));
  const std::vector<double> commit_us = SqliteCommits(dir, 1000);

  // The organisation: tracker, two members.
  RunOk({tracker, "init", "--org", "Bench", "--state", state, "--listen", "127.0.0.1:0"}, "",
        dir + "/init.log");
  pid_t tracker_pid = Spawn({tracker, "serve", "--state", state}, "", dir + "/tracker.log");
  WaitFor(
      "tracker.addr", [&] { return !ReadFile(state + "/tracker.addr").empty(); }, 15);
  for (const std::string name : {"alice", "bob"}) {
    std::string out =
        RunOk({tracker, "invite", name, "--state", state}, "", dir + "/invite-" + name + ".log");
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
      out.pop_back();
    const std::string code = out.substr(out.find_last_of('\n') + 1);
    RunOk({confab, "join", code}, dir + "/" + name, dir + "/join-" + name + ".log");
  }
  const std::string bob_log = dir + "/bob.log";
  pid_t bob_pid =
      Spawn({confab, "up", "--listen", "127.0.0.1:0", "--log-level", "warn"}, bob_home, bob_log);
  WaitFor(
      "bob's node", [&] { return ReadFile(bob_log).find("node up as bob") != std::string::npos; },
      15);

  // Alice, in this process.
  auto loop = net::Loop::Create();
  if (!loop.ok())
    Die(loop.status().ToString());
  peer::Home home(alice_home);
  auto identity = confab::crypto::ReadKeyFile(home.Path(peer::kIdentityKeyFile),
                                              confab::crypto::KeyKind::kIdentity, std::nullopt);
  if (!identity.ok())
    Die(identity.status().ToString());
  Driver driver(**loop, latency_n, throughput_n, idle_seconds);
  driver.set_bob_pid(bob_pid);
  peer::NodeOptions options;
  options.listen = "127.0.0.1:0";
  options.observer = &driver;
  {
    auto node = peer::Node::Create(**loop, home, *identity, options);
    if (!node.ok())
      Die("alice's node: " + node.status().ToString());
    auto timer = net::Timer::Create(**loop, &driver);
    if (!timer.ok())
      Die(timer.status().ToString());
    driver.Attach(node->get(), std::move(*timer));
    std::fprintf(stderr, "delivery_bench: %d round trips, then %d messages, then %d s idle\n",
                 latency_n, throughput_n, idle_seconds);
    if (auto ran = (*loop)->Run(); !ran.ok())
      Die(ran.ToString());
    (*node)->Shutdown();
    (void)(*loop)->Close();
  }
  const std::string load_after = LoadAverage();
  kill(bob_pid, SIGTERM);
  const int bob_exit = Wait(bob_pid);
  kill(tracker_pid, SIGTERM);
  (void)Wait(tracker_pid);
  if (driver.phase_ != Driver::Phase::kDone)
    Die("the run did not finish");

  const double rt50 = Percentile(driver.latency_us_, 50), rt99 = Percentile(driver.latency_us_, 99);
  const double tcp50 = Percentile(tcp_us, 50), tcp99 = Percentile(tcp_us, 99);
  const double rate = throughput_n / driver.throughput_s_;
  const double bob_idle_ms = driver.idle_bob_.cpu_ms - driver.idle_bob_before_.cpu_ms;
  const long bob_wakeups =
      driver.idle_bob_.voluntary_switches - driver.idle_bob_before_.voluntary_switches;

  std::printf("\nDelivery between two nodes on loopback (message %zu B of text, frame %zu B)\n",
              kText.size(), frame_bytes);
  std::printf("load average before: %s; after: %s; %u CPUs\n\n", load_before.c_str(),
              load_after.c_str(), std::thread::hardware_concurrency());
  std::printf("| metric | confab | plain TCP | target | met? |\n|---|---:|---:|---|---|\n");
  std::printf(
      "| round trip to durable ack, p50 (%zu msgs) | %s ms | %s ms | <= 10x TCP p50 | %s |\n",
      driver.latency_us_.size(), Fmt("%.3f", rt50 / 1000).c_str(),
      Fmt("%.3f", tcp50 / 1000).c_str(), rt50 <= 10 * tcp50 ? "met" : "**not met**");
  std::printf("| round trip to durable ack, p99 | %s ms | %s ms | < 2 ms | %s |\n",
              Fmt("%.3f", rt99 / 1000).c_str(), Fmt("%.3f", tcp99 / 1000).c_str(),
              rt99 < 2000 ? "met" : "**not met**");
  std::printf("| round trip from durably queued to the ack, p50 / p99 | %s / %s ms | | | |\n",
              Fmt("%.3f", Percentile(driver.after_queue_us_, 50) / 1000).c_str(),
              Fmt("%.3f", Percentile(driver.after_queue_us_, 99) / 1000).c_str());
  std::printf("| one durable SQLite commit (WAL, FULL), p50 / p99 | | %s / %s ms | | |\n",
              Fmt("%.3f", Percentile(commit_us, 50) / 1000).c_str(),
              Fmt("%.3f", Percentile(commit_us, 99) / 1000).c_str());
  std::printf("| durable messages/s one way (%d queued) | %s | | >= 20,000 | %s |\n", throughput_n,
              Fmt("%.0f", rate).c_str(), rate >= 20000 ? "met" : "**not met**");
  std::printf("| idle node CPU over %.0f s (bob, own process) | %s ms, %ld wakeups | | ~0 | %s |\n",
              driver.idle_s_, Fmt("%.0f", bob_idle_ms).c_str(), bob_wakeups,
              bob_idle_ms <= 20 ? "met" : "**not met**");
  std::printf("| idle node CPU over %.0f s (alice, in the bench) | %s ms | | ~0 | %s |\n",
              driver.idle_s_, Fmt("%.0f", driver.idle_alice_cpu_ms_).c_str(),
              driver.idle_alice_cpu_ms_ <= 20 ? "met" : "**not met**");
  std::printf(
      "\nratio p50 / TCP p50: %.1fx; all %d queued after %.2f s, all acknowledged after "
      "%.2f s; bob exited %d\n",
      rt50 / tcp50, throughput_n, driver.queued_s_, driver.throughput_s_, bob_exit);
  if (keep)
    std::printf("state kept in %s\n", dir.c_str());
  else
    std::filesystem::remove_all(dir);
  return 0;
}
