// PeerPort on loopback: bob's port with recording handlers; alice dials it
// as a real contact would (the channel initiator, her certificate in the
// hello), over TCP and UDP; raw sockets from other 127.x addresses play
// the flooder (half-open connects, replayed initiations, UDP sessions that
// never start a channel).
#include "peer/reach/peer_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/crypto/certificate.h"
#include "peer/contacts/contact_book.h"
#include "peer/store/peer_database.h"

#include "tests/unit/messaging/node_fixture.h"
#include "tests/unit/net/net_test_util.h"

namespace confab::peer {
namespace {

using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;

crypto::SigningKey NewKey() {
  auto key = crypto::SigningKey::Generate();
  REQUIRE(key.ok());
  return std::move(*key);
}

int64_t NowUnixSeconds() {
  return static_cast<int64_t>(std::time(nullptr));
}

// A handler that takes every channel and keeps it, with what it carried.
struct Recorder final : PeerPort::Handler, channel::ChannelConnection::Delegate {
  struct Got {
    std::string peer;
    proto::Purpose purpose;
    Transport transport;
    std::string first;
  };
  std::vector<Got> got;
  std::vector<std::unique_ptr<channel::ChannelConnection>> conns;
  int closed = 0;

  Status OnPeerChannel(PeerChannel& channel, ByteView first) override {
    got.push_back({channel.peer, channel.purpose, channel.transport, std::string(AsChars(first))});
    channel.connection->set_delegate(this);
    conns.push_back(std::move(channel.connection));
    return Status::Ok();
  }
  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("answered before");
  }
  Status OnWelcome(channel::ChannelConnection&, ByteView) override { return Status::Ok(); }
  Status OnMessage(channel::ChannelConnection&, ByteView) override { return Status::Ok(); }
  void OnClosed(channel::ChannelConnection&, Status) override { ++closed; }
  void Close() {
    for (auto& c : conns)
      c->Close();
  }
};

// A contact's side of one channel: sends "hello" once welcomed.
struct Caller final : channel::ChannelConnection::Delegate {
  bool welcomed = false;
  std::optional<Status> closed;
  std::unique_ptr<channel::ChannelConnection> conn;

  Result<channel::ChannelConnection::HelloAnswer> OnHello(channel::ChannelConnection&,
                                                          const channel::Event&) override {
    return Status::FailedPrecondition("an initiator");
  }
  Status OnWelcome(channel::ChannelConnection& c, ByteView) override {
    welcomed = true;
    return c.Send(ToBytes(AsBytes("hello")));
  }
  Status OnMessage(channel::ChannelConnection&, ByteView) override { return Status::Ok(); }
  void OnClosed(channel::ChannelConnection&, Status status) override { closed = std::move(status); }
};

// Accepts every UDP hello (the flooder's and alice's own UDP side).
struct AnyUdp final : UdpPaths::Delegate {
  Status CheckUdpHello(proto::Purpose, ByteView, const crypto::X25519PublicKey&,
                       const net::Address&) override {
    return Status::Ok();
  }
  void OnUdpStream(proto::Purpose, std::unique_ptr<udp::SessionStream>,
                   const net::Address&) override {}
};

// Takes a stream's events and does nothing with them.
struct Idle final : net::StreamDelegate {
  void OnConnected() override {}
  void OnRead(ByteView) override {}
  void OnWritable() override {}
  void OnClosed(Status) override {}
};

// A raw TCP client socket bound to `from_ip`, connected to 127.0.0.1:port.
struct RawClient {
  int fd = -1;
  bool eof = false;
  Bytes got;

  RawClient(const std::string& from_ip, uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    REQUIRE(::inet_pton(AF_INET, from_ip.c_str(), &local.sin_addr) == 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    REQUIRE(::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr) == 1);
    // Loopback: the kernel completes the handshake from the listen backlog.
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
    REQUIRE(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
  }
  ~RawClient() {
    if (fd >= 0)
      ::close(fd);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void Send(ByteView bytes) const {
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  // Reads what is there; true once the peer closed.
  bool Poll() {
    uint8_t buf[4096];
    while (!eof) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n > 0)
        got.insert(got.end(), buf, buf + n);
      else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        eof = true;
      else
        break;
    }
    return eof;
  }
};

// Long enough for a real dial under ASan on a busy machine.
constexpr uint64_t kDeadlineMs = 1000;

// The port's limits in a flood test: the short deadline, then the bucket and
// the cap asked for.
PeerPortParams Limits(double burst, double per_second = 10, size_t max_pending = 256) {
  PeerPortParams params;
  params.handshake_deadline_ms = kDeadlineMs;
  params.handshake_burst_per_address = burst;
  params.handshakes_per_second_per_address = per_second;
  params.max_pending = max_pending;
  return params;
}

// `n` raw connects to `port`, the i-th from the address from(i).
std::vector<std::unique_ptr<RawClient>> Flood(int n, uint16_t port,
                                              const std::function<std::string(int)>& from) {
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < n; ++i)
    clients.push_back(std::make_unique<RawClient>(from(i), port));
  return clients;
}

bool AllClosed(std::vector<std::unique_ptr<RawClient>>& clients) {
  bool all = true;
  for (auto& c : clients)
    all = c->Poll() && all;
  return all;
}

struct Fixture {
  std::unique_ptr<net::Loop> loop = MakeLoop();
  crypto::OrgKey org{NewKey()};
  crypto::SigningKey bob_key = NewKey();
  crypto::SigningKey alice_key = NewKey();
  Bytes alice_cert;
  TempDir tmp;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<ContactBook> contacts;
  Recorder chat, files;
  std::unique_ptr<PeerPort> port;
  AnyUdp any_udp;
  std::vector<std::unique_ptr<UdpPaths>> udp_sides;
  std::vector<std::unique_ptr<Caller>> callers;

  Fixture() {
    auto cert = org.Issue("alice", alice_key.public_key(), 1, NowUnixSeconds(), 3600);
    REQUIRE(cert.ok());
    alice_cert = *cert;
    auto opened = OpenPeerDatabase(tmp.File("confab.db"));
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto book = ContactBook::Open(db.get());
    REQUIRE(book.ok());
    contacts = std::move(*book);
  }

  void Start(PeerPortParams params = {}) {
    auto bob_cert = org.Issue("bob", bob_key.public_key(), 2, NowUnixSeconds(), 3600);
    REQUIRE(bob_cert.ok());
    params.self_name = "bob";
    params.local_static = bob_key.DeriveX25519();
    params.certificate = *bob_cert;
    params.org_public_key = org.public_key();
    auto created =
        PeerPort::Create(*loop, *net::Address::Parse("127.0.0.1:0"), std::move(params), *contacts);
    REQUIRE(created.ok());
    port = std::move(*created);
    port->SetHandler(proto::PURPOSE_CHAT, &chat);
    port->SetHandler(proto::PURPOSE_FILE, &files);
  }

  uint16_t port_number() const { return port->local_address().port(); }

  channel::InitiatorParams AliceHello(proto::Purpose purpose, Bytes payload = {}) const {
    channel::InitiatorParams params;
    params.purpose = purpose;
    const crypto::X25519KeyPair alice = alice_key.DeriveX25519();
    params.local_static = alice.secret_key;
    params.local_static_public = alice.public_key;
    params.remote_static = bob_key.DeriveX25519().public_key;
    params.payload = payload.empty() ? alice_cert : std::move(payload);
    return params;
  }

  // Alice dials the port over TCP.
  Caller& Dial(proto::Purpose purpose, Bytes payload = {}) {
    callers.push_back(std::make_unique<Caller>());
    Caller& caller = *callers.back();
    auto conn = channel::ChannelConnection::Connect(
        *loop, port->local_address(), AliceHello(purpose, std::move(payload)), &caller);
    REQUIRE(conn.ok());
    caller.conn = std::move(*conn);
    return caller;
  }

  // A UDP side of alice's key at `ip`, giving up a dial after `give_up_ms`.
  UdpPaths& UdpSide(const std::string& ip, uint64_t give_up_ms = 2000) {
    UdpPathsParams params;
    params.local_static = alice_key.DeriveX25519();
    params.certificate = alice_cert;
    params.handshake_give_up_ms = give_up_ms;
    auto paths = UdpPaths::Create(*loop, *net::Address::Parse(ip + ":0"), params, &any_udp);
    REQUIRE(paths.ok());
    udp_sides.push_back(std::move(*paths));
    return *udp_sides.back();
  }

  // Alice dials the port over UDP from `side`.
  Caller& DialUdp(UdpPaths& side, proto::Purpose purpose) {
    callers.push_back(std::make_unique<Caller>());
    Caller& caller = *callers.back();
    auto conn = side.DialChannel({port->local_address()}, AliceHello(purpose), &caller);
    REQUIRE(conn.ok());
    caller.conn = std::move(*conn);
    return caller;
  }

  bool Run(const std::function<bool()>& done, uint64_t ms = 5000) {
    return RunUntil(*loop, done, ms);
  }

  ~Fixture() {
    for (auto& c : callers) {
      if (c->conn)
        c->conn->Close();
    }
    chat.Close();
    files.Close();
    if (port)
      port->Close();
    for (auto& side : udp_sides)
      side->Close();
    RunUntil(
        *loop, [] { return false; }, 50);  // the closes run out
    callers.clear();
    CloseLoop(*loop);
  }
};

// ---- routing -------------------------------------------------------------------

TEST_CASE("A chat hello goes to the chat handler and a file hello to the file handler",
          "[reach][peer_port]") {
  Fixture f;
  f.Start();
  Caller& chat = f.Dial(proto::PURPOSE_CHAT);
  Caller& file = f.Dial(proto::PURPOSE_FILE);
  REQUIRE(f.Run([&] { return f.chat.got.size() == 1 && f.files.got.size() == 1; }));
  CHECK(chat.welcomed);
  CHECK(file.welcomed);
  CHECK(f.chat.got[0].peer == "alice");
  CHECK(f.chat.got[0].purpose == proto::PURPOSE_CHAT);
  CHECK(f.chat.got[0].transport == Transport::kTcp);
  CHECK(f.chat.got[0].first == "hello");
  CHECK(f.files.got[0].peer == "alice");
  CHECK(f.files.got[0].purpose == proto::PURPOSE_FILE);
  CHECK(f.port->stats().handed_over == 2);
  CHECK(f.port->pending() == 0);
  // Pinned at the first hello.
  CHECK(f.contacts->Get("alice")->identity_key == ToBytes(f.alice_key.public_key()));
}

TEST_CASE("A chat over a UDP session goes to the chat handler, marked UDP",
          "[reach][peer_port][udp]") {
  Fixture f;
  f.Start();
  Caller& caller = f.DialUdp(f.UdpSide("127.0.0.1"), proto::PURPOSE_CHAT);
  REQUIRE(f.Run([&] { return f.chat.got.size() == 1; }));
  CHECK(caller.welcomed);
  CHECK(f.chat.got[0].peer == "alice");
  CHECK(f.chat.got[0].transport == Transport::kUdp);
  CHECK(f.chat.got[0].first == "hello");
}

TEST_CASE("A purpose with no handler is refused and reaches nobody", "[reach][peer_port][error]") {
  Fixture f;
  f.Start();
  f.port->SetHandler(proto::PURPOSE_FILE, nullptr);
  Caller& file = f.Dial(proto::PURPOSE_FILE);
  REQUIRE(f.Run([&] { return file.closed.has_value(); }));
  CHECK_FALSE(file.welcomed);
  CHECK(f.files.got.empty());
  CHECK(f.chat.got.empty());
  // Over UDP the session's own hello is refused before the endpoint keeps state.
  Caller& udp = f.DialUdp(f.UdpSide("127.0.0.1", 500), proto::PURPOSE_FILE);
  REQUIRE(f.Run([&] { return udp.closed.has_value(); }));
  CHECK_FALSE(udp.welcomed);
  CHECK(f.files.got.empty());
  CHECK(f.port->stats().refused_hello >= 1);
  CHECK(f.port->stats().handed_over == 0);
}

TEST_CASE("A hello that fails a check is refused unanswered and reaches no handler",
          "[reach][peer_port][error]") {
  // Each case spoils one thing about alice's hello; the checks after it are
  // the same for all, so they run per case (a SECTION holding only the set-up
  // would count as a section without assertions).
  struct Case {
    const char* name;
    std::function<Bytes(Fixture&)> spoil;  // returns the payload; empty: alice's own
  };
  const std::vector<Case> cases = {
      {"a certificate that does not parse",
       [](Fixture&) { return ToBytes(AsBytes("not a certificate")); }},
      {"a certificate from another org",
       [](Fixture& f) {
         crypto::OrgKey other{NewKey()};
         auto cert = other.Issue("alice", f.alice_key.public_key(), 1, NowUnixSeconds(), 3600);
         REQUIRE(cert.ok());
         return *cert;
       }},
      {"a certificate for a key other than the Noise one",
       [](Fixture& f) {
         const crypto::SigningKey someone = NewKey();
         auto cert = f.org.Issue("alice", someone.public_key(), 1, NowUnixSeconds(), 3600);
         REQUIRE(cert.ok());
         return *cert;
       }},
      {"a revoked key",
       [](Fixture& f) {
         f.port->RefuseKey("alice", f.alice_key.public_key());
         return Bytes{};
       }},
      {"a blocked contact",
       [](Fixture& f) {
         REQUIRE(f.contacts->Block("alice").ok());
         return Bytes{};
       }},
      {"a key other than the pinned one",
       [](Fixture& f) {
         const crypto::SigningKey old_key = NewKey();
         REQUIRE(f.contacts->PinOnFirstContact("alice", old_key.public_key(), kNow).ok());
         return Bytes{};
       }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Fixture f;
    f.Start();
    const Bytes payload = c.spoil(f);
    Caller& tcp = f.Dial(proto::PURPOSE_CHAT, payload);
    REQUIRE(f.Run([&] { return tcp.closed.has_value(); }));
    CHECK_FALSE(tcp.welcomed);
    CHECK(f.chat.got.empty());
    CHECK(f.files.got.empty());
    CHECK(f.port->stats().refused_hello == 1);
    CHECK(f.port->pending() == 0);
  }
}

TEST_CASE("A revoked key is refused over UDP too, before any session is kept",
          "[reach][peer_port][udp][error]") {
  Fixture f;
  f.Start();
  f.port->RefuseKey("alice", f.alice_key.public_key());
  CHECK(f.port->revoked_keys().count(std::string(AsChars(f.alice_key.public_key()))) == 1);
  Caller& udp = f.DialUdp(f.UdpSide("127.0.0.1", 500), proto::PURPOSE_CHAT);
  REQUIRE(f.Run([&] { return udp.closed.has_value(); }));
  CHECK_FALSE(udp.welcomed);
  CHECK(f.chat.got.empty());
  CHECK(f.port->udp().stream_count() == 0);
}

// ---- hostile-input limits --------------------------------------------------------

TEST_CASE("Half-open connections are closed at the deadline, and a contact gets through meanwhile",
          "[reach][peer_port][limits]") {
  Fixture f;
  f.Start(Limits(1000));
  auto junk = Flood(50, f.port_number(), [](int) { return "127.0.0.2"; });
  REQUIRE(f.Run([&] { return f.port->pending() == 50; }));
  const uint64_t flooded_at = f.loop->now_ms();
  f.Dial(proto::PURPOSE_CHAT);
  REQUIRE(f.Run([&] { return f.chat.got.size() == 1; }));
  CHECK(f.port->stats().deadline_expired == 0);  // in while the junk was still there
  REQUIRE(f.Run([&] { return AllClosed(junk); }, 3 * kDeadlineMs));
  const uint64_t took = f.loop->now_ms() - flooded_at;
  INFO("the junk was closed after " << took << " ms");
  CHECK(took >= kDeadlineMs * 8 / 10);
  CHECK(took < kDeadlineMs * 2);
  CHECK(f.port->stats().deadline_expired == 50);
  CHECK(f.port->pending() == 0);
  for (auto& c : junk)
    CHECK(c->got.empty());  // nothing was ever answered
}

TEST_CASE(
    "A replayed initiation passes the hello but never reaches a handler, and is closed "
    "at the deadline",
    "[reach][peer_port][limits]") {
  Fixture f;
  f.Start(Limits(1000));

  // Capture what a real dial sends: alice's channel initiator, connected to a
  // plain socket that only records.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  REQUIRE(listener >= 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, "127.0.0.1", &at.sin_addr) == 1);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof(at)) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t len = sizeof(at);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &len) == 0);
  Caller recorded;
  auto dial = channel::ChannelConnection::Connect(
      *f.loop, *net::Address::Parse("127.0.0.1:" + std::to_string(ntohs(at.sin_port))),
      f.AliceHello(proto::PURPOSE_CHAT), &recorded);
  REQUIRE(dial.ok());
  int accepted = -1;
  Bytes initiation;
  REQUIRE(f.Run([&] {
    if (accepted < 0)
      accepted = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
    uint8_t buf[4096];
    const ssize_t n = accepted >= 0 ? ::recv(accepted, buf, sizeof(buf), 0) : -1;
    if (n > 0)
      initiation.insert(initiation.end(), buf, buf + n);
    return !initiation.empty();
  }));
  f.Run([] { return false; }, 50);  // anything still in flight
  uint8_t rest[4096];
  for (ssize_t n; (n = ::recv(accepted, rest, sizeof(rest), 0)) > 0;)
    initiation.insert(initiation.end(), rest, rest + n);
  (*dial)->Close();
  ::close(accepted);
  ::close(listener);
  REQUIRE(f.Run([&] { return recorded.closed.has_value(); }));

  auto replays = Flood(20, f.port_number(), [](int) { return "127.0.0.3"; });
  for (auto& r : replays)
    r->Send(initiation);
  // Every replay checks out at the hello (a valid certificate, the right
  // key) and is answered; none can say more.
  REQUIRE(f.Run([&] {
    bool answered = true;
    for (auto& r : replays)
      answered = (r->Poll(), !r->got.empty()) && answered;
    return answered;
  }));
  const uint64_t replayed_at = f.loop->now_ms();
  CHECK(f.port->pending() == 20);
  f.Dial(proto::PURPOSE_CHAT);  // the real alice, meanwhile
  REQUIRE(f.Run([&] { return f.chat.got.size() == 1; }));
  CHECK(f.port->stats().deadline_expired == 0);
  REQUIRE(f.Run([&] { return AllClosed(replays); }, 3 * kDeadlineMs));
  INFO("the replays were closed after " << f.loop->now_ms() - replayed_at << " ms");
  CHECK(f.loop->now_ms() - replayed_at < kDeadlineMs * 2);
  CHECK(f.chat.got.size() == 1);  // only the real one was handed over
  CHECK(f.port->stats().deadline_expired == 20);
  CHECK(f.port->pending() == 0);
}

TEST_CASE("One address's flood of handshakes is rate-limited while a contact elsewhere gets through",
          "[reach][peer_port][limits]") {
  Fixture f;
  f.Start(Limits(5, 1));
  auto junk = Flood(40, f.port_number(), [](int) { return "127.0.0.2"; });
  REQUIRE(f.Run([&] { return f.port->stats().accepted + f.port->stats().rate_limited == 40; }));
  CHECK(f.port->stats().accepted <= 6);  // the burst (and a token refilled meanwhile)
  CHECK(f.port->stats().rate_limited >= 34);
  CHECK(f.port->pending() <= 6);
  f.Dial(proto::PURPOSE_CHAT);  // from 127.0.0.1: a bucket of its own
  REQUIRE(f.Run([&] { return f.chat.got.size() == 1; }));
  REQUIRE(f.Run([&] { return AllClosed(junk); }, 3 * kDeadlineMs));
  CHECK(f.port->pending() == 0);
}

TEST_CASE(
    "Over the pending cap new handshakes are closed at once, until the deadline clears "
    "the junk",
    "[reach][peer_port][limits]") {
  Fixture f;
  f.Start(Limits(1000, 10, 8));
  // From 30 addresses: no one bucket runs dry.
  auto junk = Flood(30, f.port_number(), [](int i) { return "127.0.1." + std::to_string(i + 1); });
  REQUIRE(f.Run([&] { return f.port->stats().accepted + f.port->stats().over_capacity == 30; }));
  CHECK(f.port->stats().accepted == 8);
  CHECK(f.port->stats().over_capacity == 22);
  CHECK(f.port->pending() == 8);
  // The refused ones are closed at once, the others at the deadline.
  REQUIRE(f.Run(
      [&] {
        int closed = 0;
        for (auto& c : junk)
          closed += c->Poll() ? 1 : 0;
        return closed >= 22;
      },
      kDeadlineMs / 2));
  CHECK(f.port->stats().deadline_expired == 0);
  REQUIRE(f.Run([&] { return AllClosed(junk); }, 3 * kDeadlineMs));
  // Room again: a contact gets through.
  f.Dial(proto::PURPOSE_CHAT);
  REQUIRE(f.Run([&] { return f.chat.got.size() == 1; }));
  CHECK(f.port->stats().deadline_expired == 8);
}

TEST_CASE(
    "A flood of UDP sessions is rate-limited at their hello, the opened ones are closed at "
    "the deadline, and a contact gets through",
    "[reach][peer_port][limits][udp]") {
  Fixture f;
  f.Start(Limits(5, 1));
  // A member's key at another address opens sessions and never starts the
  // channel inside them.
  UdpPaths& flooder = f.UdpSide("127.0.0.4", 1000);
  Idle idle;
  std::vector<std::unique_ptr<udp::SessionStream>> streams;
  for (int i = 0; i < 30; ++i) {
    auto stream = flooder.Dial(f.bob_key.DeriveX25519().public_key, {f.port->local_address()},
                               proto::PURPOSE_FILE);
    REQUIRE(stream.ok());
    (*stream)->set_delegate(&idle);
    streams.push_back(std::move(*stream));
  }
  REQUIRE(f.Run([&] { return f.port->stats().rate_limited >= 25; }));
  CHECK(f.port->stats().accepted <= 6);
  Caller& alice = f.DialUdp(f.UdpSide("127.0.0.1"), proto::PURPOSE_CHAT);
  REQUIRE(f.Run([&] { return f.chat.got.size() == 1; }));
  CHECK(alice.welcomed);
  REQUIRE(f.Run([&] { return f.port->pending() == 0 && f.port->stats().deadline_expired >= 1; },
                3 * kDeadlineMs));
  CHECK(f.port->stats().deadline_expired + f.port->stats().handed_over == f.port->stats().accepted);
  CHECK(f.files.got.empty());
  for (auto& s : streams)
    s->Close();
}

}  // namespace
}  // namespace confab::peer
