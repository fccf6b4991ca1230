// udp_transfer: one end of a confab UDP session (udp::Endpoint), for the
// network lab: it punches through NATs by initiating to every --peer address
// at once while the other end does the same, then streams --send bytes of a
// known pattern on the file stream and a chat line, and checks what arrives.
//
//   udp_transfer --bind 0.0.0.0:7651 --key a --peer-key b
//                --peer 198.18.2.2:7651 --peer 10.200.2.2:7651 --send 67108864 --expect 0
//
// --cc cubic sends with CUBIC instead of BBR.
// --idle S waits S seconds after the session opens before sending (only
// keepalives, every --keepalive seconds, cross the NATs meanwhile).
// Keys come from seeds (--key/--peer-key), which is fine for a test tool and
// nothing else. Prints one JSON line and exits 0 when every byte sent was
// acknowledged and every byte expected arrived intact; 2 when no session
// could be opened ("no direct path"); 1 on a timeout or a corrupt byte.
// Test tool only: not installed.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "common/crypto/noise_primitives.h"
#include "common/crypto/sodium.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "common/udp/endpoint.h"

namespace confab {
namespace {

using datagram::kChatStream;
using datagram::kFileStream;
using nlohmann::json;

constexpr size_t kPatternPeriod = 65521;  // prime: shifted or repeated bytes show

crypto::noise::KeyPair KeyFromSeed(const std::string& seed) {
  (void)crypto::InitSodium();
  uint8_t priv[32];
  crypto_generichash(priv, sizeof(priv), reinterpret_cast<const uint8_t*>(seed.data()), seed.size(),
                     nullptr, 0);
  return *crypto::noise::KeyPairFromPrivate(ByteView(priv, sizeof(priv)));
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

class Transfer final : public udp::Endpoint::Delegate, public net::Timer::Delegate {
 public:
  struct Options {
    uint64_t send = 0;
    uint64_t expect = 0;
    double timeout_s = 60;
    double idle_s = 0;  // wait this long after the session opens before sending
    crypto::noise::PublicKey peer_key{};
  };

  Transfer(net::Loop& loop, Options options) : loop_(loop), options_(options) {
    pattern_.resize(kPatternPeriod);
    for (size_t i = 0; i < pattern_.size(); ++i)
      pattern_[i] = static_cast<uint8_t>(((i + 1) * 0x9E3779B97F4A7C15ULL) >> 56);
  }

  std::unique_ptr<udp::Endpoint> endpoint;
  std::unique_ptr<net::Timer> ticker;
  json result = {{"ok", false}};
  int exit_code = 1;

  void Start() {
    started_ = std::chrono::steady_clock::now();
    (void)ticker->Start(100, 100);
  }

  Result<Bytes> OnIncomingSession(const crypto::noise::PublicKey& remote, ByteView,
                                  const net::Address&) override {
    if (remote != options_.peer_key)
      return Status::PermissionDenied("not the peer we expect");
    return ToBytes(AsBytes("hello"));
  }
  void OnSessionOpen(udp::SessionId id, ByteView) override {
    if (session_ != 0 && session_ != id)
      return;
    session_ = id;
    opened_ = std::chrono::steady_clock::now();
    result["open_after_s"] = SecondsSince(started_);
    if (auto info = endpoint->Info(id); info.ok() && info->peer)
      result["peer"] = info->peer->ToString();
    if (options_.idle_s <= 0)
      StartSending();
  }
  void OnSessionReadable(udp::SessionId id, uint8_t stream) override {
    uint8_t buf[65536];
    size_t n;
    while ((n = endpoint->Read(id, stream, buf)) > 0) {
      if (stream == kChatStream) {
        chat_.append(reinterpret_cast<const char*>(buf), n);
        continue;
      }
      for (size_t done = 0; done < n;) {
        const size_t at = (received_ + done) % kPatternPeriod;
        const size_t len = std::min(n - done, kPatternPeriod - at);
        corrupt_ |= std::memcmp(buf + done, pattern_.data() + at, len) != 0;
        done += len;
      }
      received_ += n;
    }
    Check();
  }
  void OnSessionWritable(udp::SessionId, uint8_t) override { Pump(); }
  void OnSessionClosed(udp::SessionId id, Status why) override {
    if (session_ == 0 || id == session_) {
      peer_closed_ = session_ != 0;
      close_reason_ = why.ToString();
      if (session_ == 0) {
        Finish(2, "no direct path: " + close_reason_);
        return;
      }
      session_ = 0;
      Check();
    }
  }
  void OnTimer() override {
    if (SecondsSince(started_) > options_.timeout_s) {
      Finish(1, "timeout");
      return;
    }
    if (!sending_ && session_ != 0 && opened_ && SecondsSince(*opened_) >= options_.idle_s)
      StartSending();
    Check();
  }

 private:
  // The chat line, then the file. After --idle only the keepalives have
  // crossed the NATs since the session opened.
  void StartSending() {
    sending_ = true;
    (void)endpoint->Write(session_, kChatStream, AsBytes("chat line\n"));
    Pump();
  }

  void Pump() {
    while (sending_ && session_ != 0 && sent_ < options_.send) {
      const size_t at = sent_ % kPatternPeriod;
      const size_t n = std::min<uint64_t>(kPatternPeriod - at, options_.send - sent_);
      const size_t taken =
          endpoint->Write(session_, kFileStream, ByteView(pattern_).subspan(at, n));
      sent_ += taken;
      if (taken < n)
        break;
    }
  }

  void Check() {
    if (finished_ || corrupt_) {
      if (corrupt_ && !finished_)
        Finish(1, "corrupt data");
      return;
    }
    const bool got_all = received_ >= options_.expect && chat_ == "chat line\n";
    const bool sent_all = sending_ && sent_ >= options_.send && session_ != 0 &&
                          endpoint->AllAcked(session_, kFileStream) &&
                          endpoint->AllAcked(session_, kChatStream);
    if (got_all && sent_all) {
      // Our part is done; the peer may still want ACKs for its last bytes,
      // so the side that only receives waits for the sender's close.
      if (options_.send > 0 || options_.expect == 0) {
        Finish(0, "");
        return;
      }
    }
    if (got_all && peer_closed_)
      Finish(0, "");
  }

  void Finish(int code, const std::string& reason) {
    if (finished_)
      return;
    finished_ = true;
    exit_code = code;
    result["ok"] = code == 0;
    if (!reason.empty())
      result["reason"] = reason;
    result["sent"] = sent_;
    result["received"] = received_;
    if (session_ != 0) {
      if (auto info = endpoint->Info(session_); info.ok()) {
        const auto& s = info->stats;
        result["stats"] = {{"packets_sent", s.packets_sent},
                           {"packets_lost", s.packets_lost},
                           {"retransmitted", s.bytes_retransmitted},
                           {"congestion_events", s.congestion_events},
                           {"cwnd", s.cwnd_bytes},
                           {"srtt_ms", s.smoothed_rtt_us / 1e3}};
      }
    }
    if (opened_) {
      const double seconds = SecondsSince(*opened_);
      result["seconds"] = seconds;
      result["mbit_s"] = static_cast<double>(std::max(sent_, received_)) * 8 / seconds / 1e6;
    }
    if (session_ != 0)
      endpoint->CloseSession(session_, code == 0 ? "done" : reason);
    ticker->Stop();
    loop_.Stop();
  }

  net::Loop& loop_;
  Options options_;
  std::vector<uint8_t> pattern_;
  udp::SessionId session_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::optional<std::chrono::steady_clock::time_point> opened_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  bool sending_ = false;
  bool corrupt_ = false;
  bool peer_closed_ = false;
  bool finished_ = false;
  std::string chat_;
  std::string close_reason_;
};

int Main(int argc, char** argv) {
  CLI::App app{"one end of a confab UDP session, for the network lab"};
  std::string bind = "0.0.0.0:7651", key, peer_key;
  std::vector<std::string> peers;
  Transfer::Options options;
  double handshake_s = 10;
  double keepalive_s = 15;
  std::string cc = "bbr";
  app.add_option("--bind", bind, "local address");
  app.add_option("--key", key, "seed of our static key")->required();
  app.add_option("--peer-key", peer_key, "seed of the peer's static key")->required();
  app.add_option("--peer", peers, "peer address to initiate to (repeatable)");
  app.add_option("--send", options.send, "bytes to send on the file stream");
  app.add_option("--expect", options.expect, "bytes to expect on the file stream");
  app.add_option("--timeout", options.timeout_s, "seconds before giving up");
  app.add_option("--handshake-timeout", handshake_s, "seconds of handshake retries");
  app.add_option("--keepalive", keepalive_s, "seconds between keepalives when idle");
  app.add_option("--idle", options.idle_s, "seconds to stay idle after the session opens");
  app.add_option("--cc", cc, "congestion control of our sending side")
      ->check(CLI::IsMember({"bbr", "cubic"}));
  CLI11_PARSE(app, argc, argv);

  auto bind_address = net::Address::Parse(bind);
  if (!bind_address.ok()) {
    std::fprintf(stderr, "%s\n", bind_address.status().ToString().c_str());
    return 1;
  }
  std::vector<net::Address> candidates;
  for (const std::string& p : peers) {
    auto a = net::Address::Parse(p);
    if (!a.ok()) {
      std::fprintf(stderr, "%s\n", a.status().ToString().c_str());
      return 1;
    }
    candidates.push_back(*a);
  }
  options.peer_key = KeyFromSeed(peer_key).public_key;
  auto loop = net::Loop::Create();
  if (!loop.ok())
    return 1;
  Transfer transfer(**loop, options);
  udp::EndpointOptions eo{.bind = *bind_address,
                          .static_key = KeyFromSeed(key),
                          .connection = {},
                          .handshakes_per_second = 200,
                          .handshake_give_up_us = static_cast<uint64_t>(handshake_s * 1e6),
                          .rekey_after_us = datagram::kRekeyAfterUs,
                          .reject_after_us = datagram::kRejectAfterUs,
                          .monotonic_us = {},
                          .wall_us = {}};
  eo.connection.keepalive_us = static_cast<uint64_t>(keepalive_s * 1e6);
  eo.connection.congestion_control =
      cc == "cubic" ? datagram::CongestionControl::kCubic : datagram::CongestionControl::kBbr;
  auto endpoint = udp::Endpoint::Create(**loop, eo, &transfer);
  auto ticker = net::Timer::Create(**loop, &transfer);
  if (!endpoint.ok() || !ticker.ok()) {
    std::fprintf(stderr, "%s\n",
                 (endpoint.ok() ? ticker.status() : endpoint.status()).ToString().c_str());
    return 1;
  }
  transfer.endpoint = std::move(*endpoint);
  transfer.ticker = std::move(*ticker);
  transfer.Start();
  if (!candidates.empty()) {
    auto id = transfer.endpoint->Connect(candidates, options.peer_key, ToBytes(AsBytes("hi")));
    if (!id.ok()) {
      std::fprintf(stderr, "%s\n", id.status().ToString().c_str());
      return 1;
    }
  }
  (void)(*loop)->Run();
  std::printf("%s\n", transfer.result.dump().c_str());
  std::fflush(stdout);
  transfer.endpoint.reset();
  transfer.ticker.reset();
  (void)(*loop)->Close();
  return transfer.exit_code;
}

}  // namespace
}  // namespace confab

int main(int argc, char** argv) {
  return confab::Main(argc, argv);
}
