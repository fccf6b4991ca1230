// Transfers on both ends in one process: alice and bob, each with their own
// confab.db, quarantine and download directories, on one loop, over loopback
// TCP. A fake tracker answers RequestLookup from the loop (never
// re-entrantly, as the real TrackerLink does), with LookupResults carrying
// the org-signed certificates and the address of the peer's way in.
//
// How a Transfers dials and how inbound file connections reach it is about
// to change (a Dialer, a PeerPort): all of that lives in `Wiring` below, the
// one part of this file that should need to change with it.
#include "peer/transfer/transfers.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/base/wall_clock.h"
#include "common/crypto/certificate.h"
#include "common/net/tcp_connection.h"
#include "common/net/tcp_listener.h"
#include "peer/reach/contact_route.h"
#include "peer/reach/peer_port.h"
#include "peer/store/peer_database.h"
#include "peer/transfer/file_io.h"
#include "proto/identity.pb.h"

#include "tests/unit/net/net_test_util.h"
#include "tests/unit/store/temp_dir.h"

namespace confab::peer::transfer {
namespace {

using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;

net::Address Loopback(uint16_t port) {
  auto at = net::Address::FromIp("127.0.0.1", port);
  REQUIRE(at.ok());
  return *at;
}

// What one node is: its member identity and its directories.
struct Identity {
  std::string name;
  crypto::SigningKey key;
  Bytes certificate;  // org-signed
  crypto::Ed25519PublicKey org_public_key{};
};

// Knobs the cases turn (small, so that each case runs in well under a second).
struct Tuning {
  uint64_t retry_ms = 50;
  // Generous: a handshake slower than this (a loaded machine, sanitizers)
  // would make a second connection where a case counts them.
  uint64_t tcp_dial_timeout_ms = 3000;
  uint64_t read_batch_bytes = 128 << 10;
  uint64_t write_batch_bytes = 64 << 10;
  uint64_t sync_every_bytes = 128 << 10;
  uint64_t max_send_rate = 0;  // bytes/s, 0: no limit
};

// ---- Wiring ---------------------------------------------------------------
// How one node's Transfers is created and reached: the node's real PeerPort
// on loopback (hello checks, first-message hand-over) with Transfers as its
// PURPOSE_FILE handler, as Node wires them. The cases below only use
// Start(), address(), transfers and Close().

struct Wiring {
  std::unique_ptr<PeerPort> port;
  std::unique_ptr<LoopClock> clock;
  std::unique_ptr<ChannelTransports> transports;
  std::unique_ptr<Dialer> dialer;
  std::unique_ptr<Transfers> transfers;

  void Start(net::Loop& loop, const Identity& self, const std::string& home, store::Database* db,
             ContactBook& contacts, const Tuning& tuning, Transfers::Delegate* tracker,
             Dialer::Directory& directory) {
    PeerPortParams pp;
    pp.self_name = self.name;
    pp.local_static = self.key.DeriveX25519();
    pp.certificate = self.certificate;
    pp.org_public_key = self.org_public_key;
    auto created = PeerPort::Create(loop, Loopback(0), std::move(pp), contacts);
    INFO(created.status().ToString());
    REQUIRE(created.ok());
    port = std::move(*created);

    DialerParams dial;
    dial.org_public_key = self.org_public_key;
    dial.paths = PathPolicy::kTcpOnly;
    dial.tcp_dial_timeout_ms = tuning.tcp_dial_timeout_ms;
    clock = std::make_unique<LoopClock>(loop);
    transports = std::make_unique<ChannelTransports>(loop, &port->udp());
    dialer = std::make_unique<Dialer>(dial, *clock, *transports, directory, contacts,
                                      port->revoked_keys());

    TransfersParams p;
    p.self_name = self.name;
    p.quarantine_dir = home + "/quarantine";
    p.local_static = self.key.DeriveX25519();
    p.certificate = self.certificate;
    p.dialer = dialer.get();
    p.policy.download_dir = home + "/downloads";
    p.policy.max_send_rate = tuning.max_send_rate;
    p.retry_ms = tuning.retry_ms;
    p.read_batch_bytes = tuning.read_batch_bytes;
    p.write_batch_bytes = tuning.write_batch_bytes;
    p.sync_every_bytes = tuning.sync_every_bytes;
    auto t = Transfers::Create(loop, std::move(p), db, contacts, tracker);
    INFO(t.status().ToString());
    REQUIRE(t.ok());
    transfers = std::move(*t);
    port->SetHandler(proto::PURPOSE_FILE, transfers.get());
  }
  // Where peers reach this node's file connections (what a lookup returns).
  net::Address address() const { return Loopback(port->local_address().port()); }
  void Close() {
    if (port)
      port->Close();
    if (transfers)
      transfers->Close();
    if (dialer)
      dialer->Close();
  }
};

// ---- The rest of the world ---------------------------------------------

struct World;

// The tracker (and an empty directory cache) as one node's Dialer sees it.
struct FakeTracker final : Transfers::Delegate, Dialer::Directory {
  FakeTracker(World& w, std::string n) : world(w), asker(std::move(n)) {}
  Result<uint64_t> RequestLookup(const std::string& name) override;
  Status RequestPunch(const std::string&) override { return Status::Ok(); }
  std::optional<proto::LookupResult> CachedLookup(const std::string&) override {
    return std::nullopt;
  }
  void OnLookupVerified(const std::string&, const proto::LookupResult&) override {}
  void OnKeyChange(const std::string&, const Status&) override {}

  World& world;
  std::string asker;
  int lookups = 0;
};

struct Node {
  Node(World& w, std::string name, const crypto::OrgKey& org) : tracker(w, name) {
    auto key = crypto::SigningKey::Generate();
    REQUIRE(key.ok());
    auto cert = org.Issue(name, key->public_key(), 1, NowUnix(), 3600);
    REQUIRE(cert.ok());
    id = std::make_unique<Identity>(Identity{name, std::move(*key), *cert, org.public_key()});
    auto opened = OpenPeerDatabase(home.File("confab.db"));
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto c = ContactBook::Open(db.get());
    REQUIRE(c.ok());
    contacts = std::move(*c);
  }

  Transfers& transfers() { return *wiring.transfers; }
  std::string dir() const {
    std::string d = home.File("");
    d.pop_back();  // the trailing '/'
    return d;
  }
  // The one transfer `tid` as `confab transfers` shows it.
  TransferView View(const TransferId& tid) {
    auto got = wiring.transfers->List(tid);
    REQUIRE(got.ok());
    REQUIRE(got->size() == 1);
    return (*got)[0];
  }
  std::vector<TransferView> All() {
    auto got = wiring.transfers->List(std::nullopt);
    REQUIRE(got.ok());
    return *got;
  }
  State StateOf(const TransferId& tid) { return View(tid).record.state; }

  store::TempDir home;
  std::unique_ptr<Identity> id;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<ContactBook> contacts;
  FakeTracker tracker;
  Wiring wiring;
};

// Forwards TCP between a listener and a target, counting the bytes each
// connection carried, and cuts every connection on demand: the network
// dropping a transfer's connection, with neither end choosing to.
class Relay final : private net::TcpListener::Delegate {
 public:
  Relay(net::Loop& loop, net::Address target) : loop_(loop), target_(std::move(target)) {
    auto listener = net::TcpListener::Create(loop, Loopback(0), this, 64);
    REQUIRE(listener.ok());
    listener_ = std::move(*listener);
  }
  uint16_t port() const { return listener_->port(); }
  // File bytes and framing from the dialer towards the target, per connection.
  std::vector<uint64_t> forward_bytes() const {
    std::vector<uint64_t> out;
    for (const auto& p : pairs_)
      out.push_back(p->forward);
    return out;
  }
  void Cut() {
    for (auto& p : pairs_) {
      p->down->Close();
      if (p->up)
        p->up->Close();
    }
  }
  void Close() {
    listener_->Close();
    Cut();
  }

 private:
  struct Pair;
  struct End final : net::StreamDelegate {
    Pair* pair = nullptr;
    bool down = false;  // the dialer's side
    void OnConnected() override {
      (void)pair->up->StartReading();
      if (!pair->early.empty())
        (void)pair->up->Write(std::move(pair->early));
      pair->early.clear();
    }
    void OnRead(ByteView data) override {
      if (down) {
        pair->forward += data.size();
        if (pair->up->is_open())
          (void)pair->up->Write(ToBytes(data));
        else
          pair->early.insert(pair->early.end(), data.begin(), data.end());
      } else {
        (void)pair->down->Write(ToBytes(data));
      }
    }
    void OnWritable() override {}
    void OnClosed(Status) override {
      // One end gone: the other flushes what it has and goes too.
      net::TcpConnection* other = down ? pair->up.get() : pair->down.get();
      if (other != nullptr)
        other->Shutdown();
    }
  };
  struct Pair {
    End down_end, up_end;
    std::unique_ptr<net::TcpConnection> down, up;
    Bytes early;  // from the dialer before the target answered
    uint64_t forward = 0;
  };

  void OnIncoming(Status status) override {
    if (!status.ok())
      return;
    auto p = std::make_unique<Pair>();
    p->down_end.pair = p->up_end.pair = p.get();
    p->down_end.down = true;
    auto down = listener_->Accept(&p->down_end);
    if (!down.ok())
      return;
    p->down = std::move(*down);
    auto up = net::TcpConnection::Connect(loop_, target_, &p->up_end);
    if (!up.ok()) {
      p->down->Close();
      return;
    }
    p->up = std::move(*up);
    (void)p->down->StartReading();
    pairs_.push_back(std::move(p));  // kept to the end: closed ones too
  }

  net::Loop& loop_;
  net::Address target_;
  std::unique_ptr<net::TcpListener> listener_;
  std::vector<std::unique_ptr<Pair>> pairs_;
};

struct World {
  std::unique_ptr<net::Loop> loop = MakeLoop();
  crypto::OrgKey org{[] {
    auto key = crypto::SigningKey::Generate();
    REQUIRE(key.ok());
    return std::move(*key);
  }()};
  Node alice{*this, "alice", org};
  Node bob{*this, "bob", org};
  // Lookups answer "offline" while true (the tracker is unreachable: at once).
  bool tracker_down = false;
  // Where lookups send peers for `name`, instead of its own way in.
  std::map<std::string, net::Address> route_override;
  std::deque<std::pair<Node*, proto::LookupResult>> answers;
  uint64_t next_request = 1;
  std::unique_ptr<Relay> relay;

  Node* Find(const std::string& name) {
    if (name == "alice")
      return &alice;
    if (name == "bob")
      return &bob;
    return nullptr;
  }

  void Start(const Tuning& tuning = {}) {
    for (Node* n : {&alice, &bob})
      n->wiring.Start(*loop, *n->id, n->dir(), n->db.get(), *n->contacts, tuning, &n->tracker,
                      n->tracker);
  }
  // Puts a Relay in front of bob's way in: alice's connections go through it.
  Relay& RelayToBob() {
    relay = std::make_unique<Relay>(*loop, bob.wiring.address());
    route_override.insert_or_assign("bob", Loopback(relay->port()));
    return *relay;
  }

  void Flush() {
    while (!answers.empty()) {
      auto [asker, result] = std::move(answers.front());
      answers.pop_front();
      asker->wiring.dialer->OnLookupResult(result);
    }
  }
  bool Run(const std::function<bool()>& done, uint64_t ms = 5000) {
    return RunUntil(
        *loop,
        [&] {
          Flush();
          return done();
        },
        ms);
  }
  void RunFor(uint64_t ms) {
    (void)Run([] { return false; }, ms);
  }

  ~World() {
    if (relay)
      relay->Close();
    for (Node* n : {&alice, &bob})
      n->wiring.Close();
    CloseLoop(*loop);
  }
};

Result<uint64_t> FakeTracker::RequestLookup(const std::string& name) {
  ++lookups;
  if (world.tracker_down)
    return Status::Unavailable("not connected to the tracker");
  proto::LookupResult result;
  result.set_request_id(world.next_request++);
  Node* peer = world.Find(name);
  if (peer == nullptr || !peer->wiring.transfers) {
    result.set_error("offline");
  } else {
    result.set_found(true);
    const Bytes& cert = peer->id->certificate;
    // CHECK, not REQUIRE: this runs inside loop callbacks too.
    CHECK(result.mutable_certificate()->ParseFromArray(cert.data(), static_cast<int>(cert.size())));
    auto over = world.route_override.find(name);
    const net::Address to =
        over != world.route_override.end() ? over->second : peer->wiring.address();
    proto::Endpoint* e = result.add_endpoints();
    e->set_address(to.ip());
    e->set_port(to.port());
    e->set_kind(proto::Endpoint::KIND_LAN);
  }
  world.answers.emplace_back(world.Find(asker), result);
  return result.request_id();
}

// ---- Helpers ----------------------------------------------------------------

// `size` bytes of seeded noise at `path`.
Bytes WriteFile(const std::string& path, size_t size, uint32_t seed = 1) {
  std::mt19937 rng(seed);
  Bytes data(size);
  for (uint8_t& b : data)
    b = static_cast<uint8_t>(rng());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  REQUIRE(out.good());
  return data;
}

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes Blake3(ByteView data) {
  StreamHash h;
  h.Update(data);
  return h.Final();
}

size_t FilesIn(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it)
    ++n;
  return n;
}

// Every save of the transfers table, in order: (state, bytes_done). A TEMP
// trigger: nothing of it reaches the file's schema.
struct SaveLog {
  explicit SaveLog(store::Database& d) : db(d) {
    REQUIRE(db.Exec("CREATE TEMP TABLE saves (state TEXT, bytes_done INTEGER)").ok());
    REQUIRE(db.Exec("CREATE TEMP TRIGGER log_saves AFTER INSERT ON main.transfers BEGIN "
                    "INSERT INTO saves VALUES (NEW.state, NEW.bytes_done); END")
                .ok());
  }
  std::vector<std::pair<std::string, uint64_t>> All() {
    auto st = db.Prepare("SELECT state, bytes_done FROM saves ORDER BY rowid");
    REQUIRE(st.ok());
    std::vector<std::pair<std::string, uint64_t>> out;
    while (true) {
      auto r = st->Step();
      REQUIRE(r.ok());
      if (*r != store::StepResult::kRow)
        break;
      out.emplace_back(st->ColumnText(0), static_cast<uint64_t>(st->ColumnInt64(1)));
    }
    return out;
  }
  store::Database& db;
};

// Alice offers `size` bytes to bob and bob sees the offer.
struct Offered {
  TransferId id{};
  std::string source;
  Bytes data;
};
Offered Offer(World& w, size_t size, const std::string& name = "report.pdf") {
  Offered o;
  o.source = w.alice.home.File(name);
  o.data = WriteFile(o.source, size);
  auto id = w.alice.transfers().Send("bob", o.source, "");
  INFO(id.status().ToString());
  REQUIRE(id.ok());
  o.id = *id;
  REQUIRE(w.Run([&] {
    std::vector<TransferView> all = w.bob.All();
    return all.size() == 1 && all[0].record.state == State::kOffered;
  }));
  return o;
}

// ---- Cases ------------------------------------------------------------------

TEST_CASE("A file offered, accepted and received arrives whole, with both digests matching",
          "[transfer][transfers]") {
  World w;
  w.Start();
  Offered o = Offer(w, (1 << 20) + 12345);
  TransferView in = w.bob.View(o.id);
  CHECK(in.record.direction == Direction::kIn);
  CHECK(in.record.peer == "alice");
  CHECK(in.record.name == "report.pdf");
  CHECK(in.record.size == o.data.size());
  CHECK(in.record.type == "application/pdf");
  CHECK(w.alice.StateOf(o.id) == State::kOffered);

  REQUIRE(w.bob.transfers().Accept(o.id, "").ok());
  REQUIRE(w.Run([&] {
    return w.alice.StateOf(o.id) == State::kCompleted && w.bob.StateOf(o.id) == State::kCompleted;
  }));
  TransferView got = w.bob.View(o.id);
  TransferView sent = w.alice.View(o.id);
  CHECK(got.record.path == w.bob.home.File("downloads/report.pdf"));
  CHECK(ReadFile(got.record.path) == o.data);
  const Bytes digest = Blake3(o.data);
  CHECK(ToHex(got.record.digest) == ToHex(digest));
  CHECK(ToHex(sent.record.digest) == ToHex(digest));
  CHECK(got.bytes_done == o.data.size());
  CHECK(sent.bytes_done == o.data.size());
  CHECK(sent.record.error.empty());
  // Nothing left in quarantine once released.
  CHECK(FilesIn(w.bob.home.File("quarantine")) == 0);
}

TEST_CASE("A rejected offer ends rejected on both sides and leaves no file",
          "[transfer][transfers]") {
  World w;
  w.Start();
  Offered o = Offer(w, 200000);
  REQUIRE(w.bob.transfers().Reject(o.id).ok());
  REQUIRE(w.Run([&] { return w.alice.StateOf(o.id) == State::kRejected; }));
  CHECK(w.bob.StateOf(o.id) == State::kRejected);
  CHECK_THAT(w.alice.View(o.id).record.error, Catch::Contains("rejected by bob"));
  CHECK(FilesIn(w.bob.home.File("downloads")) == 0);
  CHECK(FilesIn(w.bob.home.File("quarantine")) == 0);
  // Final: neither accept nor a second answer changes it.
  CHECK_FALSE(w.bob.transfers().Accept(o.id, "").ok());
  CHECK_FALSE(w.alice.transfers().Cancel(o.id).ok());
}

TEST_CASE("A transfer cancelled mid-way by either side ends cancelled on both, its part removed",
          "[transfer][transfers]") {
  World w;
  Tuning slow;
  slow.max_send_rate = 2 << 20;  // 4 MiB take 2 s: there is a middle to cancel in
  w.Start(slow);
  Offered o = Offer(w, 4 << 20);
  REQUIRE(w.bob.transfers().Accept(o.id, "").ok());
  REQUIRE(w.Run([&] { return w.bob.View(o.id).bytes_done >= (256 << 10); }));
  REQUIRE(w.bob.StateOf(o.id) == State::kActive);

  std::string by;
  SECTION("by the sender") {
    by = "alice";
    REQUIRE(w.alice.transfers().Cancel(o.id).ok());
  }
  SECTION("by the receiver") {
    by = "bob";
    REQUIRE(w.bob.transfers().Cancel(o.id).ok());
  }
  REQUIRE(w.Run([&] {
    return w.alice.StateOf(o.id) == State::kCancelled && w.bob.StateOf(o.id) == State::kCancelled;
  }));
  CHECK_THAT(w.alice.View(o.id).record.error, Catch::Contains("cancelled by " + by));
  CHECK_THAT(w.bob.View(o.id).record.error, Catch::Contains("cancelled by " + by));
  CHECK(w.bob.View(o.id).bytes_done < o.data.size());
  // Writes still in flight at the cancel must not bring the part back.
  w.RunFor(100);
  CHECK(FilesIn(w.bob.home.File("quarantine")) == 0);
  CHECK(FilesIn(w.bob.home.File("downloads")) == 0);
  CHECK(w.alice.StateOf(o.id) == State::kCancelled);
}

TEST_CASE(
    "A transfer whose connection drops resumes from the receiver's durable offset without "
    "resending what arrived",
    "[transfer][transfers]") {
  World w;
  Tuning slow;
  slow.max_send_rate = 4 << 20;  // 2 MiB in about half a second
  w.Start(slow);
  Relay& relay = w.RelayToBob();
  SaveLog alice_saves(*w.alice.db);
  Offered o = Offer(w, 2 << 20);
  REQUIRE(w.bob.transfers().Accept(o.id, "").ok());
  REQUIRE(w.Run([&] { return w.bob.View(o.id).bytes_done >= (512 << 10); }));

  // The network drops it; the tracker is unreachable for a moment, so the
  // sender cannot come back before we have looked.
  w.tracker_down = true;
  relay.Cut();
  // Bob makes what he received durable: his record's offset catches up
  // with the live count, and stays below the whole.
  REQUIRE(w.Run([&] {
    TransferView v = w.bob.View(o.id);
    return v.record.bytes_done > 0 && v.record.bytes_done == v.bytes_done;
  }));
  w.RunFor(50);
  const uint64_t durable = w.bob.View(o.id).record.bytes_done;
  INFO("durable offset at the drop: " << durable);
  CHECK(durable >= (512 << 10));
  CHECK(durable < o.data.size());
  CHECK(w.alice.StateOf(o.id) == State::kActive);
  CHECK(w.bob.StateOf(o.id) == State::kActive);
  const size_t connections_before = relay.forward_bytes().size();
  const size_t saves_before = alice_saves.All().size();

  w.tracker_down = false;
  REQUIRE(w.Run([&] {
    return w.alice.StateOf(o.id) == State::kCompleted && w.bob.StateOf(o.id) == State::kCompleted;
  }));
  CHECK(ReadFile(w.bob.View(o.id).record.path) == o.data);
  CHECK(ToHex(w.bob.View(o.id).record.digest) == ToHex(Blake3(o.data)));
  CHECK(ToHex(w.alice.View(o.id).record.digest) == ToHex(Blake3(o.data)));

  // The receiver accepted at its durable offset: the sender's first save
  // after the reconnect is that accept.
  auto saves = alice_saves.All();
  REQUIRE(saves.size() > saves_before);
  CHECK(saves[saves_before].first == "active");
  CHECK(saves[saves_before].second == durable);
  // And only the rest went over the second connection (plus the handshake,
  // the offer and per-frame overhead: well under one 64 KiB frame).
  std::vector<uint64_t> carried = relay.forward_bytes();
  REQUIRE(carried.size() == connections_before + 1);
  const uint64_t resumed = carried.back();
  INFO("the resumed connection carried " << resumed << " bytes");
  CHECK(resumed >= o.data.size() - durable);
  CHECK(resumed < o.data.size() - durable + (32 << 10));
}

TEST_CASE("An offer nobody answers waits, connected, without failing", "[transfer][transfers]") {
  World w;
  w.Start();
  Offered o = Offer(w, 100000);
  // Many retry periods: the sender keeps the one connection (no new
  // lookups) and the offer stands on both sides.
  const int lookups = w.alice.tracker.lookups;
  w.RunFor(400);
  CHECK(w.alice.tracker.lookups == lookups);
  CHECK(w.alice.StateOf(o.id) == State::kOffered);
  CHECK(w.alice.View(o.id).record.error.empty());
  CHECK(w.bob.StateOf(o.id) == State::kOffered);
  // And it can still be accepted after all that.
  REQUIRE(w.bob.transfers().Accept(o.id, "").ok());
  REQUIRE(w.Run([&] { return w.alice.StateOf(o.id) == State::kCompleted; }));
}

TEST_CASE("A receiver whose port never answers the handshake is retried with backoff",
          "[transfer][transfers]") {
  World w;
  Tuning quick;
  quick.tcp_dial_timeout_ms = 100;
  w.Start(quick);
  // A listener that never takes its connections: TCP connects, the hello
  // goes unanswered.
  struct Deaf final : net::TcpListener::Delegate {
    void OnIncoming(Status) override {}
  } deaf;
  auto listener = net::TcpListener::Create(*w.loop, Loopback(0), &deaf, 16);
  REQUIRE(listener.ok());
  w.route_override.insert_or_assign("bob", Loopback((*listener)->port()));

  const std::string source = w.alice.home.File("notes.txt");
  WriteFile(source, 5000);
  auto id = w.alice.transfers().Send("bob", source, "");
  REQUIRE(id.ok());
  w.RunFor(1000);
  // Each attempt waits tcp_dial_timeout_ms, then the retry period doubles
  // (50, 100, 200, 400 ms): four to six attempts in a second, not dozens.
  INFO("lookups: " << w.alice.tracker.lookups);
  CHECK(w.alice.tracker.lookups >= 3);
  CHECK(w.alice.tracker.lookups <= 8);
  CHECK(w.alice.StateOf(*id) == State::kOffered);
  CHECK(w.bob.All().empty());

  // Once bob is reachable the offer gets there.
  w.route_override.erase("bob");
  (*listener)->Close();
  REQUIRE(w.Run([&] { return w.bob.All().size() == 1; }));
  CHECK(w.bob.All()[0].record.state == State::kOffered);
}

}  // namespace
}  // namespace confab::peer::transfer
