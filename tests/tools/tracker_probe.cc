// tracker_probe: holds a TrackerLink for a joined home ($CONFAB_HOME) so the
// integration tests can watch the tracker from a member's side.
//
//   stdout: one JSON object per line, one per event (see Emit* below):
//     ready, connected, presence (one line per entry), lookup, revoked,
//     refused, punch, nat, error, disconnected, command_error, bye,
//     deposited, mailbox_notice, envelope (one per envelope fetched),
//     envelopes (after them: count, more)
//   stdin: one command per line
//     status online|away|busy|invisible [TEXT...]
//     subscribe NAME...          (replaces the list)
//     lookup NAME
//     announce HOST:PORT...      (TCP endpoints)
//     punch NAME
//     nat                        (NatDiscovery against the tracker's two UDP
//                                 probe ports, from a fresh UDP socket)
//     deposit NAME TEXT...       (looks NAME up, seals TEXT to their key with
//                                 crypto::Seal and deposits it in the mailbox)
//     deposit-unsealed NAME TEXT...  (deposits TEXT as it is: a forgery)
//     fetch [AFTER_ID]           (our envelopes, each opened with our key)
//     ack ID...
//     quit                       (also: end of input, SIGINT, SIGTERM)
//
// Options: --passphrase-file FILE, --backoff-initial-ms N, --backoff-max-ms N.
// Test tool only: not installed.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/base/log.h"
#include "common/crypto/certificate.h"
#include "common/crypto/key_file.h"
#include "common/crypto/sealed_box.h"
#include "common/crypto/sodium.h"
#include "common/net/fd_reader.h"
#include "common/net/loop.h"
#include "common/net/signal_watcher.h"
#include "common/net/timer.h"
#include "common/net/udp_socket.h"
#include "common/protocol/presence_names.h"
#include "common/udp/nat_discovery.h"
#include "peer/node/home.h"
#include "peer/tracker_link/join.h"
#include "peer/tracker_link/tracker_link.h"

namespace confab {
namespace {

using nlohmann::json;

void Emit(const json& line) {
  std::fputs((line.dump() + "\n").c_str(), stdout);
  std::fflush(stdout);
}

json EndpointJson(const proto::Endpoint& e) {
  const char* kind = e.kind() == proto::Endpoint::KIND_LAN      ? "lan"
                     : e.kind() == proto::Endpoint::KIND_PUBLIC ? "public"
                                                                : "unknown";
  return json{{"address", e.address()}, {"port", e.port()}, {"kind", kind}, {"udp", e.udp()}};
}

class Probe final : public peer::TrackerLink::Delegate,
                    public net::FdReader::Delegate,
                    public net::SignalWatcher::Delegate,
                    public net::UdpSocket::Delegate,
                    public net::Timer::Delegate {
 public:
  Status Start(net::Loop& loop, peer::TrackerLinkParams params) {
    loop_ = &loop;
    tracker_ = params.tracker;
    CONFAB_ASSIGN_OR_RETURN(link_, peer::TrackerLink::Create(loop, std::move(params), this));
    CONFAB_ASSIGN_OR_RETURN(stdin_, net::FdReader::Create(loop, STDIN_FILENO, this));
    CONFAB_ASSIGN_OR_RETURN(sigint_, net::SignalWatcher::Create(loop, SIGINT, this));
    CONFAB_ASSIGN_OR_RETURN(sigterm_, net::SignalWatcher::Create(loop, SIGTERM, this));
    link_->Start();
    return Status::Ok();
  }

 private:
  // peer::TrackerLink::Delegate
  void OnConnected(const proto::SessionWelcome& welcome) override {
    Emit({{"event", "connected"},
          {"keepalive_seconds", welcome.keepalive_seconds()},
          {"udp_token", ToHex(AsBytes(welcome.udp_token()))},
          {"second_probe_port", link_->second_probe_port()}});
  }
  void OnPresence(const proto::PresenceDelta& delta) override {
    for (const proto::PresenceEntry& e : delta.entries()) {
      Emit({{"event", "presence"},
            {"name", e.name()},
            {"status", protocol::PresenceStatusName(e.status())},
            {"text", e.text()},
            {"last_seen_unix", e.last_seen_unix()}});
    }
  }
  void OnLookupResult(const proto::LookupResult& r) override {
    if (auto seal = to_seal_.find(r.request_id()); seal != to_seal_.end()) {
      std::string text = std::move(seal->second);
      to_seal_.erase(seal);
      return SealAndDeposit(r, text);
    }
    json line{{"event", "lookup"},
              {"request_id", r.request_id()},
              {"found", r.found()},
              {"error", r.error()}};
    if (r.found()) {
      auto cert = crypto::VerifyCertificate(r.certificate(), org_key_, std::time(nullptr));
      line["certificate_ok"] = cert.ok();
      if (cert.ok()) {
        line["name"] = cert->name;
        line["fingerprint"] = crypto::Fingerprint::Of(cert->identity_key).ToString();
      }
      json endpoints = json::array();
      for (const proto::Endpoint& e : r.endpoints())
        endpoints.push_back(EndpointJson(e));
      line["endpoints"] = endpoints;
      line["status"] = protocol::PresenceStatusName(r.presence().status());
    }
    Emit(line);
  }
  void OnRevoked(const proto::Revoked& revoked) override {
    Emit({{"event", "revoked"}, {"name", revoked.name()}});
  }
  void OnPunch(const proto::PunchNotice& notice) override {
    json endpoints = json::array();
    for (const proto::Endpoint& e : notice.endpoints())
      endpoints.push_back(EndpointJson(e));
    Emit({{"event", "punch"},
          {"request_id", notice.request_id()},
          {"name", notice.name()},
          {"endpoints", endpoints}});
  }
  void OnMailboxDeposited(const proto::MailboxDepositAnswer& a) override {
    Emit({{"event", "deposited"},
          {"request_id", a.request_id()},
          {"stored", a.stored()},
          {"id", a.id()},
          {"refusal", a.refusal()}});
  }
  void OnMailboxNotice(const proto::MailboxNotice& n) override {
    Emit({{"event", "mailbox_notice"}, {"id", n.id()}, {"author", n.author()}});
  }
  void OnMailboxEnvelopes(const proto::MailboxEnvelopes& page) override {
    for (const proto::MailboxEnvelope& e : page.envelopes()) {
      json line{{"event", "envelope"}, {"id", e.id()}, {"author", e.author()}};
      auto opened = crypto::OpenSealed(keys_, AsBytes(e.envelope()));
      if (opened.ok())
        line["text"] = std::string(AsChars(*opened));
      else
        line["open_error"] = opened.status().ToString();
      Emit(line);
    }
    Emit({{"event", "envelopes"}, {"count", page.envelopes_size()}, {"more", page.more()}});
  }
  void SealAndDeposit(const proto::LookupResult& r, const std::string& text) {
    if (!r.found())
      return CommandError("deposit: " + r.error());
    auto cert = crypto::VerifyCertificate(r.certificate(), org_key_, std::time(nullptr));
    if (!cert.ok())
      return CommandError("deposit: " + cert.status().ToString());
    auto x = crypto::X25519FromEd25519(cert->identity_key);
    if (!x.ok())
      return CommandError("deposit: " + x.status().ToString());
    auto sealed = crypto::Seal(*x, AsBytes(text));
    if (!sealed.ok())
      return CommandError("deposit: " + sealed.status().ToString());
    auto id = link_->DepositMailbox(cert->name, *sealed);
    if (!id.ok())
      return CommandError(id.status().ToString());
  }

  void OnTrackerError(std::string_view message) override {
    Emit({{"event", "error"}, {"message", std::string(message)}});
  }
  void OnDisconnected(const peer::TrackerLink::Disconnect& d) override {
    Emit({{"event", "disconnected"},
          {"reason", d.reason.ToString()},
          {"was_connected", d.was_connected},
          {"retry_in_ms", d.retry_in_ms}});
  }
  void OnRefused(const Status& reason) override {
    Emit({{"event", "refused"}, {"reason", reason.ToString()}});
  }

  // net::FdReader::Delegate
  void OnRead(ByteView data) override {
    pending_.append(AsChars(data));
    size_t newline;
    while (!quitting_ && (newline = pending_.find('\n')) != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      Command(line);
    }
  }
  void OnEnd(Status) override { Quit(); }

  // net::SignalWatcher::Delegate
  void OnSignal(int) override { Quit(); }

  // net::UdpSocket::Delegate (the nat command's socket)
  void OnDatagram(ByteView data, const net::Address& from) override {
    if (nat_ && nat_->OnDatagram(data, from))
      NatStep();
  }
  void OnError(Status) override {}

  // net::Timer::Delegate (the nat command's retries)
  void OnTimer() override { NatStep(); }

  Status StartNat() {
    if (nat_)
      return Status::FailedPrecondition("nat is already running");
    if (link_->udp_token().empty())
      return Status::Unavailable("no tracker session");
    if (link_->second_probe_port() == 0)
      return Status::Unavailable("the tracker has no second probe port");
    // Loopback trackers (the tests): bind a concrete IP, so that "no NAT" is
    // recognisable. Elsewhere the bound IP is a wildcard and says nothing.
    const bool loopback = tracker_->ip() == "127.0.0.1";
    CONFAB_ASSIGN_OR_RETURN(net::Address bind,
                            net::Address::FromIp(loopback ? "127.0.0.1" : "0.0.0.0", 0));
    CONFAB_ASSIGN_OR_RETURN(nat_socket_, net::UdpSocket::Create(*loop_, bind, this));
    CONFAB_RETURN_IF_ERROR(nat_socket_->StartReceiving());
    CONFAB_ASSIGN_OR_RETURN(nat_timer_, net::Timer::Create(*loop_, this));
    CONFAB_ASSIGN_OR_RETURN(net::Address second,
                            net::Address::FromIp(tracker_->ip(), link_->second_probe_port()));
    std::optional<net::Address> local;
    if (loopback)
      local = *nat_socket_->local_address();
    const std::string& token = link_->udp_token();
    nat_.emplace(Bytes(token.begin(), token.end()), std::vector<net::Address>{*tracker_, second},
                 local);
    NatStep();
    return Status::Ok();
  }

  void NatStep() {
    const uint64_t now_us = loop_->now_ms() * 1000;
    for (udp::NatDiscovery::Probe& p : nat_->Due(now_us))
      (void)nat_socket_->Send(std::move(p.data), p.to);
    if (!nat_->done()) {
      const uint64_t next = nat_->NextDeadlineUs();
      (void)nat_timer_->Start(next > now_us ? (next - now_us + 999) / 1000 : 1);
      return;
    }
    const udp::NatReport r = nat_->report();
    Emit({{"event", "nat"},
          {"mapping", std::string(udp::NatMappingName(r.mapping))},
          {"public_address", r.public_address ? r.public_address->ToString() : std::string()},
          {"local_address", nat_socket_->local_address()->ToString()},
          {"servers", r.servers},
          {"answered", r.answered}});
    nat_.reset();
    nat_timer_->Close();
    nat_socket_->Close();
  }

  void Command(const std::string& line) {
    std::istringstream in(line);
    std::string verb;
    in >> verb;
    std::vector<std::string> args;
    for (std::string word; in >> word;)
      args.push_back(word);
    if (verb.empty())
      return;
    if (verb == "quit") {
      Quit();
    } else if (verb == "status" && !args.empty()) {
      std::optional<proto::PresenceStatus> status = protocol::ParseSettableStatus(args[0]);
      if (!status)
        return CommandError("unknown status " + args[0]);
      std::string text;
      for (size_t i = 1; i < args.size(); ++i)
        text += (i > 1 ? " " : "") + args[i];
      link_->SetStatus(*status, text);
    } else if (verb == "subscribe") {
      link_->Subscribe(args);
    } else if (verb == "lookup" && args.size() == 1) {
      auto id = link_->Lookup(args[0]);
      if (!id.ok())
        return CommandError(id.status().ToString());
      Emit({{"event", "lookup_sent"}, {"request_id", *id}, {"name", args[0]}});
    } else if (verb == "punch" && args.size() == 1) {
      auto id = link_->Punch(args[0]);
      if (!id.ok())
        return CommandError(id.status().ToString());
    } else if ((verb == "deposit" || verb == "deposit-unsealed") && args.size() >= 2) {
      std::string text;
      for (size_t i = 1; i < args.size(); ++i)
        text += (i > 1 ? " " : "") + args[i];
      if (Status offered = link_->MailboxOffered(); !offered.ok())
        return CommandError(offered.ToString());
      if (verb == "deposit-unsealed") {
        auto id = link_->DepositMailbox(args[0], ToBytes(AsBytes(text)));
        if (!id.ok())
          return CommandError(id.status().ToString());
        return;
      }
      auto id = link_->Lookup(args[0]);
      if (!id.ok())
        return CommandError(id.status().ToString());
      to_seal_[*id] = std::move(text);
    } else if (verb == "fetch" && args.size() <= 1) {
      Status s =
          link_->FetchMailbox(args.empty() ? 0 : std::strtoull(args[0].c_str(), nullptr, 10));
      if (!s.ok())
        return CommandError(s.ToString());
    } else if (verb == "ack" && !args.empty()) {
      std::vector<uint64_t> ids;
      for (const std::string& a : args)
        ids.push_back(std::strtoull(a.c_str(), nullptr, 10));
      Status s = link_->AckMailbox(ids);
      if (!s.ok())
        return CommandError(s.ToString());
    } else if (verb == "nat") {
      Status started = StartNat();
      if (!started.ok())
        return CommandError(started.ToString());
    } else if (verb == "announce") {
      std::vector<proto::Endpoint> endpoints;
      for (const std::string& a : args) {
        auto address = net::Address::Parse(a);
        if (!address.ok())
          return CommandError(address.status().ToString());
        proto::Endpoint e;
        e.set_address(address->ip());
        e.set_port(address->port());
        endpoints.push_back(std::move(e));
      }
      link_->Announce(std::move(endpoints));
    } else {
      CommandError("unknown command: " + line);
    }
  }

  void CommandError(const std::string& message) {
    Emit({{"event", "command_error"}, {"message", message}});
  }

  void Quit() {
    if (quitting_)
      return;
    quitting_ = true;
    link_->Close();
    stdin_->Close();
    sigint_->Close();
    sigterm_->Close();
    if (nat_timer_)
      nat_timer_->Close();
    if (nat_socket_)
      nat_socket_->Close();
    Emit({{"event", "bye"}});
  }

 public:
  crypto::Ed25519PublicKey org_key_{};
  crypto::X25519KeyPair keys_;  // ours: opens what is sealed to us

 private:
  std::unique_ptr<peer::TrackerLink> link_;
  std::unique_ptr<net::FdReader> stdin_;
  std::unique_ptr<net::SignalWatcher> sigint_, sigterm_;
  net::Loop* loop_ = nullptr;
  std::optional<net::Address> tracker_;  // set by Start
  std::optional<udp::NatDiscovery> nat_;
  std::unique_ptr<net::UdpSocket> nat_socket_;
  std::unique_ptr<net::Timer> nat_timer_;
  std::string pending_;
  std::map<uint64_t, std::string> to_seal_;  // lookup request id -> text to deposit
  bool quitting_ = false;
};

int Fail(const std::string& message) {
  Emit({{"event", "fatal"}, {"message", message}});
  std::fprintf(stderr, "tracker_probe: %s\n", message.c_str());
  return 1;
}

int Main(int argc, char** argv) {
  std::string passphrase_file;
  peer::BackoffPolicy backoff;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc)
      return Fail(
          "usage: tracker_probe [--passphrase-file F] [--backoff-initial-ms N] "
          "[--backoff-max-ms N]");
    const std::string value = argv[++i];
    if (arg == "--passphrase-file")
      passphrase_file = value;
    else if (arg == "--backoff-initial-ms")
      backoff.initial_ms = std::strtoull(value.c_str(), nullptr, 10);
    else if (arg == "--backoff-max-ms")
      backoff.max_ms = std::strtoull(value.c_str(), nullptr, 10);
    else
      return Fail("unknown option " + arg);
  }
  (void)InitLogging("tracker_probe", "warn");
  if (!crypto::InitSodium().ok())
    return Fail("libsodium failed to start");
  auto home = peer::Home::FromEnvironment();
  if (!home.ok())
    return Fail(home.status().ToString());
  auto enrollment = home->LoadEnrollment();
  if (!enrollment.ok())
    return Fail(enrollment.status().ToString());
  std::string passphrase;
  if (!passphrase_file.empty()) {
    std::ifstream in(passphrase_file);
    std::getline(in, passphrase);
  }
  std::optional<ByteView> view;
  if (!passphrase.empty())
    view = AsBytes(passphrase);
  auto key =
      crypto::ReadKeyFile(home->Path(peer::kIdentityKeyFile), crypto::KeyKind::kIdentity, view);
  if (!key.ok())
    return Fail(key.status().ToString());
  auto tracker = peer::ResolveHostPort(enrollment->tracker_address);
  if (!tracker.ok())
    return Fail(tracker.status().ToString());

  peer::TrackerLinkParams params{.tracker = *tracker};
  params.tracker_static_key = enrollment->tracker_static_key;
  params.local_static = key->DeriveX25519();
  params.certificate = enrollment->certificate;
  params.backoff = backoff;

  auto loop = net::Loop::Create();
  if (!loop.ok())
    return Fail(loop.status().ToString());
  {
    Probe probe;
    probe.org_key_ = enrollment->org_public_key;
    probe.keys_ = key->DeriveX25519();
    Status started = probe.Start(**loop, std::move(params));
    if (!started.ok()) {
      (void)(*loop)->Close();
      return Fail(started.ToString());
    }
    Emit({{"event", "ready"}, {"name", enrollment->name}});
    Status ran = (*loop)->Run();
    Status closed = (*loop)->Close();
    if (!ran.ok() || !closed.ok())
      return Fail("loop: " + ran.ToString() + " / " + closed.ToString());
  }
  return 0;
}

}  // namespace
}  // namespace confab

int main(int argc, char** argv) {
  return confab::Main(argc, argv);
}
