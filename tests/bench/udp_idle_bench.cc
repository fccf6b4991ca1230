// udp_idle_bench: what idle UDP sessions cost (issue 17, "cost that follows
// work, not sessions"). Two udp::Endpoints on loopback in one process and
// one loop: `client` opens N sessions to `server` (slots 1..N, so they do
// not replace each other) and leaves them idle, plus one active session in
// slot 0. Printed beside the baseline measured in the same run:
//
//   - process CPU (getrusage, user + system) over an idle interval, with no
//     session at all and with N idle ones (both ends of every session are
//     in this process, so the row counts 2 x N session ends);
//   - the active session's round trip (64 bytes on the chat stream, echoed)
//     and its memory-to-memory throughput (file stream), alone and beside
//     the N idle sessions.
//
// Usage: udp_idle_bench [--sessions N] [--idle-seconds S] [--round-trips K]
//                       [--bytes B]
// Exits 1 when a session does not open or a transfer does not finish.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <sodium.h>

#include "common/crypto/noise_primitives.h"
#include "common/crypto/sodium.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "common/udp/endpoint.h"

namespace confab {
namespace {

using Clock = std::chrono::steady_clock;
using datagram::kChatStream;
using datagram::kFileStream;

constexpr size_t kPingBytes = 64;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

crypto::noise::KeyPair KeyFromSeed(const char* seed) {
  uint8_t priv[32];
  crypto_generichash(priv, sizeof(priv), reinterpret_cast<const uint8_t*>(seed), std::strlen(seed),
                     nullptr, 0);
  return *crypto::noise::KeyPairFromPrivate(ByteView(priv, sizeof(priv)));
}

// Runs the loop until `done()` holds (checked after every callback through
// Poke) or `seconds` pass. Returns whether done() held. Its own timer fires
// once, at the deadline: a polling timer would be the idle rows' main cost.
class Driver final : public net::Timer::Delegate {
 public:
  explicit Driver(net::Loop& loop) : loop_(loop) {}
  std::unique_ptr<net::Timer> timer;

  bool RunUntil(const std::function<bool()>& done, double seconds) {
    done_ = done;
    if (done_())
      return true;
    (void)timer->Start(static_cast<uint64_t>(seconds * 1000));
    (void)loop_.Run();
    timer->Stop();
    const bool ok = done_();
    done_ = nullptr;
    return ok;
  }
  // Sleeps in the loop for `seconds`, the endpoints' timers running.
  void Idle(double seconds) {
    (void)RunUntil([] { return false; }, seconds);
  }
  void Poke() {
    if (done_ && done_())
      loop_.Stop();
  }
  void OnTimer() override { loop_.Stop(); }

 private:
  net::Loop& loop_;
  std::function<bool()> done_;
};

// Both ends. The server echoes the chat stream and counts the file stream;
// the client times the echoes.
class Ends final : public udp::Endpoint::Delegate {
 public:
  Ends(Driver& driver, bool server) : driver_(driver), server_(server) {}
  udp::Endpoint* self = nullptr;
  std::set<udp::SessionId> open;
  udp::SessionId active = 0;  // server: the slot-0 session, once it speaks
  uint64_t file_received = 0;
  size_t echo_received = 0;
  std::function<void()> on_echo;

  Result<Bytes> OnIncomingSession(const crypto::noise::PublicKey&, ByteView,
                                  const net::Address&) override {
    return Bytes{};
  }
  void OnSessionOpen(udp::SessionId id, ByteView) override {
    open.insert(id);
    driver_.Poke();
  }
  void OnSessionReadable(udp::SessionId id, uint8_t stream) override {
    uint8_t buf[65536];
    size_t n;
    while ((n = self->Read(id, stream, buf)) > 0) {
      if (stream == kFileStream) {
        file_received += n;
      } else if (server_) {
        active = id;
        (void)self->Write(id, kChatStream, ByteView(buf, n));
      } else {
        echo_received += n;
      }
    }
    if (!server_ && echo_received >= kPingBytes && on_echo) {
      echo_received -= kPingBytes;
      on_echo();
    }
    driver_.Poke();
  }
  void OnSessionWritable(udp::SessionId, uint8_t) override {
    if (on_writable)
      on_writable();
  }
  void OnSessionClosed(udp::SessionId id, Status why) override {
    open.erase(id);
    std::fprintf(stderr, "udp_idle_bench: session %u closed: %s\n", id, why.ToString().c_str());
  }
  std::function<void()> on_writable;

 private:
  Driver& driver_;
  const bool server_;
};

struct Active {
  double rtt_p50_us = 0;
  double rtt_p99_us = 0;
  double mb_s = 0;
};

struct Bench {
  Driver& driver;
  Ends& client;
  Ends& server;
  udp::Endpoint& c;
  udp::SessionId session;
  size_t round_trips;
  uint64_t bytes;

  bool Measure(Active& out) {
    std::vector<double> rtts;
    rtts.reserve(round_trips);
    const Bytes ping(kPingBytes, 0x5a);
    Clock::time_point sent;
    auto send = [&] {
      sent = Clock::now();
      (void)c.Write(session, kChatStream, ping);
    };
    client.on_echo = [&] {
      rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sent).count());
      if (rtts.size() < round_trips)
        send();
    };
    send();
    if (!driver.RunUntil([&] { return rtts.size() >= round_trips; }, 60))
      return false;
    client.on_echo = nullptr;
    std::sort(rtts.begin(), rtts.end());
    out.rtt_p50_us = rtts[rtts.size() / 2];
    out.rtt_p99_us = rtts[rtts.size() * 99 / 100];

    // Memory to memory on the file stream, a known amount.
    const Bytes chunk(64 * 1024, 0xa5);
    uint64_t written = 0;
    const uint64_t start_received = server.file_received;
    auto pump = [&] {
      while (written < bytes) {
        const size_t n = std::min<uint64_t>(chunk.size(), bytes - written);
        const size_t took = c.Write(session, kFileStream, ByteView(chunk).first(n));
        written += took;
        if (took < n)
          break;
      }
    };
    client.on_writable = pump;
    const auto t0 = Clock::now();
    pump();
    const bool ok =
        driver.RunUntil([&] { return server.file_received - start_received >= bytes; }, 120);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    client.on_writable = nullptr;
    out.mb_s = static_cast<double>(bytes) / seconds / 1e6;
    return ok;
  }
};

int Main(int argc, char** argv) {
  size_t sessions = 1000;
  double idle_seconds = 20;
  size_t round_trips = 2000;
  uint64_t bytes = 64 << 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--sessions")
      sessions = std::strtoull(value, nullptr, 10);
    else if (flag == "--idle-seconds")
      idle_seconds = std::strtod(value, nullptr);
    else if (flag == "--round-trips")
      round_trips = std::max<size_t>(1, std::strtoull(value, nullptr, 10));
    else if (flag == "--bytes")
      bytes = std::strtoull(value, nullptr, 10);
    else {
      std::fprintf(stderr, "udp_idle_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  (void)crypto::InitSodium();
  auto loop = net::Loop::Create();
  if (!loop.ok())
    return 1;
  Driver driver(**loop);
  driver.timer = std::move(*net::Timer::Create(**loop, &driver));
  Ends client_ends(driver, false), server_ends(driver, true);
  auto options = [](const char* seed) {
    udp::EndpointOptions o{.bind = *net::Address::Parse("127.0.0.1:0"),
                           .static_key = KeyFromSeed(seed),
                           .connection = {},
                           // N initiations at once are the benchmark, not a flood.
                           .handshakes_per_second = 1'000'000,
                           .handshake_give_up_us = datagram::kHandshakeGiveUpUs,
                           .rekey_after_us = datagram::kRekeyAfterUs,
                           .reject_after_us = datagram::kRejectAfterUs,
                           .monotonic_us = {},
                           .wall_us = {}};
    return o;
  };
  auto server = udp::Endpoint::Create(**loop, options("server"), &server_ends);
  auto client = udp::Endpoint::Create(**loop, options("client"), &client_ends);
  if (!server.ok() || !client.ok()) {
    std::fprintf(stderr, "udp_idle_bench: %s\n",
                 (server.ok() ? client.status() : server.status()).ToString().c_str());
    return 1;
  }
  server_ends.self = server->get();
  client_ends.self = client->get();
  const net::Address server_address = *(*server)->local_address();
  const auto server_key = KeyFromSeed("server").public_key;

  // Baseline: no session at all.
  double cpu0 = CpuSeconds();
  driver.Idle(idle_seconds);
  const double idle_none = CpuSeconds() - cpu0;

  auto active = (*client)->Connect({server_address}, server_key, Bytes{}, 0);
  if (!active.ok() || !driver.RunUntil([&] { return client_ends.open.count(*active) > 0; }, 15)) {
    std::fprintf(stderr, "udp_idle_bench: the active session did not open\n");
    return 1;
  }
  Bench bench{driver, client_ends, server_ends, **client, *active, round_trips, bytes};
  Active alone, beside;
  if (!bench.Measure(alone)) {
    std::fprintf(stderr, "udp_idle_bench: the active session stalled (alone)\n");
    return 1;
  }

  const auto setup = Clock::now();
  // In steps of 100: a thousand handshakes at once on two loaded cores take
  // longer than the 1 s initiation retry, and each retry restarts them.
  for (size_t i = 1; i <= sessions; ++i) {
    if (!(*client)->Connect({server_address}, server_key, Bytes{}, static_cast<uint32_t>(i)).ok())
      return 1;
    if (i % 100 != 0 && i != sessions)
      continue;
    if (!driver.RunUntil([&] { return client_ends.open.size() >= i + 1; }, 30)) {
      std::fprintf(stderr, "udp_idle_bench: %zu of %zu idle sessions opened\n",
                   client_ends.open.size() - 1, i);
      return 1;
    }
  }
  const double setup_s = std::chrono::duration<double>(Clock::now() - setup).count();
  driver.Idle(1);  // the handshakes' last ACKs
  cpu0 = CpuSeconds();
  driver.Idle(idle_seconds);
  const double idle_many = CpuSeconds() - cpu0;
  if (!bench.Measure(beside)) {
    std::fprintf(stderr, "udp_idle_bench: the active session stalled (beside idle ones)\n");
    return 1;
  }

  std::printf(
      "udp_idle_bench: %zu idle sessions, %.0f s idle, %zu round trips, %llu MiB "
      "(opened in %.2f s)\n",
      sessions, idle_seconds, round_trips, static_cast<unsigned long long>(bytes >> 20), setup_s);
  // Baseline: no session for the CPU row, the active session alone for the
  // others.
  std::printf("%-40s %14s %14s %7s\n", "row", "baseline", "beside idle", "ratio");
  auto row = [](const char* name, double base, double with, const char* fmt) {
    char a[32], b[32];
    std::snprintf(a, sizeof(a), fmt, base);
    std::snprintf(b, sizeof(b), fmt, with);
    char ratio[16] = "-";  // a baseline of about nothing has no ratio
    if (base >= 0.001)
      std::snprintf(ratio, sizeof(ratio), "%.2f", with / base);
    std::printf("%-40s %14s %14s %7s\n", name, a, b, ratio);
  };
  row("process CPU over the idle interval (s)", idle_none, idle_many, "%.3f");
  row("active session round trip p50 (us)", alone.rtt_p50_us, beside.rtt_p50_us, "%.1f");
  row("active session round trip p99 (us)", alone.rtt_p99_us, beside.rtt_p99_us, "%.1f");
  row("active session throughput (MB/s)", alone.mb_s, beside.mb_s, "%.1f");
  std::fflush(stdout);
  client->reset();
  server->reset();
  driver.timer.reset();
  (void)(*loop)->Close();
  return 0;
}

}  // namespace
}  // namespace confab

int main(int argc, char** argv) {
  return confab::Main(argc, argv);
}
