// ControlServer on a real node.sock in a temporary directory, driven by raw
// client sockets from the test's thread between turns of the loop.
#include "peer/control/control_server.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "peer/control/control_frame.h"
#include "peer/control/event_feed.h"
#include "peer/store/peer_database.h"

#include "tests/unit/net/net_test_util.h"

namespace confab::peer {
namespace {

using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;

struct EchoDelegate final : ControlServer::Delegate {
  proto::Response HandleControl(const proto::Request& request) override {
    ++calls;
    proto::Response response;
    response.set_ok(true);
    if (request.send().text() == "huge")
      response.set_message_id(std::string(kMaxControlMessageBytes + 1, 'h'));
    else
      response.set_message_id(request.send().text());
    return response;
  }
  int calls = 0;
};

// A client socket, non-blocking, that collects whatever the server sends.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(fcntl(fd_, F_SETFL, O_NONBLOCK) == 0);
  }
  ~RawClient() {
    if (fd_ >= 0)
      close(fd_);
  }

  void SendRaw(const Bytes& bytes) {
    REQUIRE(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  void Send(const proto::Request& request) {
    Result<Bytes> frame = EncodeControlFrame(request);
    REQUIRE(frame.ok());
    SendRaw(*frame);
  }
  // Reads what is available; true once the server has closed its end.
  bool Poll() {
    uint8_t buffer[64 * 1024];
    for (;;) {
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        received_.insert(received_.end(), buffer, buffer + n);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        eof_ = true;
      return eof_;
    }
  }
  // The next whole frame received, if any.
  std::optional<Bytes> NextFrame() {
    (void)Poll();
    if (received_.size() < kControlLengthBytes)
      return std::nullopt;
    const size_t length = (size_t{received_[0]} << 24) | (size_t{received_[1]} << 16) |
                          (size_t{received_[2]} << 8) | size_t{received_[3]};
    if (received_.size() < kControlLengthBytes + length)
      return std::nullopt;
    Bytes frame(received_.begin() + kControlLengthBytes,
                received_.begin() + static_cast<std::ptrdiff_t>(kControlLengthBytes + length));
    received_.erase(received_.begin(),
                    received_.begin() + static_cast<std::ptrdiff_t>(kControlLengthBytes + length));
    return frame;
  }
  void CloseNow() {
    close(fd_);
    fd_ = -1;
  }
  bool eof() const { return eof_; }

 private:
  int fd_ = -1;
  Bytes received_;
  bool eof_ = false;
};

// Runs the loop until `client` has a whole frame; returns it. (RunUntil asks
// its predicate once more at the end, so the predicate must not consume.)
Bytes WaitFrame(net::Loop& loop, RawClient& client) {
  std::optional<Bytes> frame;
  REQUIRE(RunUntil(loop, [&] {
    if (!frame)
      frame = client.NextFrame();
    return frame.has_value();
  }));
  return std::move(*frame);
}

template <typename Message>
Message Parse(const Bytes& frame) {
  Message m;
  REQUIRE(m.ParseFromArray(frame.data(), static_cast<int>(frame.size())));
  return m;
}

proto::Event TextEvent(const std::string& text) {
  proto::Event event;
  event.set_time_unix_ms(1);
  event.mutable_message()->set_text(text);
  return event;
}

struct Fixture {
  Fixture() {
    char pattern[] = "/tmp/confab-control-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
    path = dir + "/node.sock";
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  void Start(ControlServerOptions options = {}, bool with_delegate = true) {
    auto created = ControlServer::Create(*loop, path, with_delegate ? &delegate : nullptr, options);
    REQUIRE(created.ok());
    server = std::move(*created);
  }
  void Finish() {
    server->Close();
    REQUIRE(RunUntil(
                *loop, [] { return false; }, 20) == false);
    server.reset();
    CloseLoop(*loop);
  }
  // Subscribes `client` and waits for the ok.
  void Subscribe(RawClient& client) {
    proto::Request request;
    request.mutable_subscribe_events();
    client.Send(request);
    CHECK(Parse<proto::Response>(WaitFrame(*loop, client)).ok());
    REQUIRE(RunUntil(*loop, [&] { return server->subscriber_count() > 0; }));
  }

  std::string dir, path;
  std::unique_ptr<net::Loop> loop = MakeLoop();
  EchoDelegate delegate;
  std::unique_ptr<ControlServer> server;
};

TEST_CASE("ControlServer answers one request and closes the connection", "[peer][control]") {
  Fixture f;
  f.Start();
  RawClient client(f.path);
  proto::Request request;
  request.mutable_send()->set_text("hello");
  client.Send(request);
  const auto response = Parse<proto::Response>(WaitFrame(*f.loop, client));
  CHECK(response.ok());
  CHECK(response.message_id() == "hello");
  CHECK(RunUntil(*f.loop, [&] { return client.Poll(); }));
  CHECK(f.delegate.calls == 1);
  CHECK(f.server->subscriber_count() == 0);
  f.Finish();
}

TEST_CASE("ControlServer answers a failure when the answer would be over the frame limit",
          "[peer][control][error]") {
  Fixture f;
  f.Start();
  RawClient client(f.path);
  proto::Request request;
  request.mutable_send()->set_text("huge");
  client.Send(request);
  const auto response = Parse<proto::Response>(WaitFrame(*f.loop, client));
  CHECK_FALSE(response.ok());
  CHECK(response.error().find("over 1 MiB") != std::string::npos);
  f.Finish();
}

TEST_CASE("ControlServer pushes published events, in order, to every subscriber",
          "[peer][control][events]") {
  Fixture f;
  f.Start();
  RawClient one(f.path), two(f.path);
  f.Subscribe(one);
  f.Subscribe(two);
  CHECK(f.server->subscriber_count() == 2);
  CHECK(f.delegate.calls == 0);  // the server answers SubscribeEvents itself

  for (const char* text : {"first", "second", "third"})
    f.server->Publish(TextEvent(text));
  for (RawClient* client : {&one, &two}) {
    std::vector<std::string> texts;
    REQUIRE(RunUntil(*f.loop, [&] {
      while (std::optional<Bytes> frame = client->NextFrame())
        texts.push_back(Parse<proto::Event>(*frame).message().text());
      return texts.size() == 3;
    }));
    CHECK(texts == std::vector<std::string>{"first", "second", "third"});
  }

  one.CloseNow();  // a console that quits
  CHECK(RunUntil(*f.loop, [&] { return f.server->subscriber_count() == 1; }));
  f.server->Publish(TextEvent("fourth"));
  CHECK(Parse<proto::Event>(WaitFrame(*f.loop, two)).message().text() == "fourth");
  f.Finish();
}

TEST_CASE("ControlServer closes a subscriber that stops reading once its queue passes the bound",
          "[peer][control][events][error]") {
  Fixture f;
  f.Start({.idle_timeout_ms = 30000, .max_subscriber_queue_bytes = 64 * 1024});
  RawClient slow(f.path);
  f.Subscribe(slow);
  const proto::Event big = TextEvent(std::string(16 * 1024, 'x'));
  // The kernel's socket buffers take the first few hundred KiB; after that
  // the node's own queue grows until the bound closes the subscriber.
  int published = 0;
  REQUIRE(RunUntil(
      *f.loop,
      [&] {
        if (f.server->subscriber_count() == 0)
          return true;
        f.server->Publish(big);
        ++published;
        return false;
      },
      10000));
  CHECK(published < 1000);
  // What was written before is still readable; then the end.
  CHECK(RunUntil(*f.loop, [&] {
    while (slow.NextFrame()) {
    }
    return slow.eof();
  }));
  f.Finish();
}

TEST_CASE("ControlServer closes a connection that sends nothing within the idle timeout",
          "[peer][control][error]") {
  Fixture f;
  f.Start({.idle_timeout_ms = 100});
  RawClient silent(f.path);
  RawClient partial(f.path);
  partial.SendRaw(Bytes{0, 0, 0, 10, 1, 2});  // half a request, then nothing
  CHECK(RunUntil(
      *f.loop, [&] { return silent.Poll() && partial.Poll(); }, 3000));
  CHECK(f.delegate.calls == 0);
  f.Finish();
}

TEST_CASE("ControlServer keeps an idle subscriber open past the idle timeout",
          "[peer][control][events]") {
  Fixture f;
  f.Start({.idle_timeout_ms = 50});
  RawClient console(f.path);
  f.Subscribe(console);
  CHECK_FALSE(RunUntil(
      *f.loop, [&] { return console.Poll(); }, 300));
  CHECK(f.server->subscriber_count() == 1);
  f.server->Publish(TextEvent("still here"));
  CHECK(Parse<proto::Event>(WaitFrame(*f.loop, console)).message().text() == "still here");
  f.Finish();
}

TEST_CASE("ControlServer closes a connection whose request does not parse, unanswered",
          "[peer][control][error]") {
  Fixture f;
  f.Start();
  RawClient client(f.path);
  client.SendRaw(Bytes{0, 0, 0, 3, 0xff, 0xff, 0xff});
  CHECK(RunUntil(*f.loop, [&] { return client.Poll(); }));
  CHECK_FALSE(client.NextFrame().has_value());
  CHECK(f.delegate.calls == 0);
  f.Finish();
}

TEST_CASE("ControlServer refuses requests until it is given a delegate, then answers them",
          "[peer][control]") {
  Fixture f;
  f.Start({}, /*with_delegate=*/false);
  proto::Request request;
  request.mutable_send()->set_text("early");
  {
    RawClient client(f.path);
    client.Send(request);
    const auto response = Parse<proto::Response>(WaitFrame(*f.loop, client));
    CHECK_FALSE(response.ok());
    CHECK(response.error() == "the node is starting; try again");
  }
  f.server->set_delegate(&f.delegate);
  RawClient client(f.path);
  request.mutable_send()->set_text("later");
  client.Send(request);
  CHECK(Parse<proto::Response>(WaitFrame(*f.loop, client)).message_id() == "later");
  CHECK(f.delegate.calls == 1);
  f.Finish();
}

TEST_CASE(
    "EventFeed publishes a presence only when it changed, and each transfer event in its "
    "own field",
    "[peer][control][events]") {
  Fixture f;
  f.Start();
  auto db = OpenPeerDatabase(f.dir + "/confab.db");
  REQUIRE(db.ok());
  auto contacts = ContactBook::Open(db->get());
  REQUIRE(contacts.ok());
  REQUIRE((*contacts)->Block("carol").ok());
  EventFeed feed(*f.server, **contacts, "alice");
  RawClient console(f.path);
  f.Subscribe(console);

  proto::PresenceEntry away;
  away.set_name("carol");
  away.set_status(proto::PRESENCE_AWAY);
  away.set_text("lunch");
  feed.OnPresence(away);
  feed.OnPresence(away);  // the same again: nothing to tell
  away.set_text("back at two");
  feed.OnPresence(away);
  for (const char* text : {"lunch", "back at two"}) {
    const auto event = Parse<proto::Event>(WaitFrame(*f.loop, console));
    REQUIRE(event.has_presence());
    CHECK(event.presence().text() == text);
    CHECK(event.presence().status() == "away");
    CHECK(event.presence().blocked());  // the contact's flags come along
    CHECK(event.time_unix_ms() > 0);
  }
  CHECK(feed.PresenceOf("carol", nullptr).text() == "back at two");
  CHECK(feed.PresenceOf("dave", nullptr).status() == "offline");  // never pushed

  transfer::TransferView view;
  view.record.direction = transfer::Direction::kIn;
  view.record.peer = "bob";
  view.record.name = "report.pdf";
  view.record.size = 100;
  view.record.state = transfer::State::kQuarantined;
  view.record.error = "scan failed (exit 2)";
  view.bytes_done = 100;
  feed.OnTransferEvent(transfer::TransferEventKind::kQuarantined, view);
  view.record.state = transfer::State::kActive;
  view.bytes_done = 40;
  view.rate_bytes_per_s = 10;
  feed.OnTransferEvent(transfer::TransferEventKind::kProgress, view);
  const auto quarantined = Parse<proto::Event>(WaitFrame(*f.loop, console));
  REQUIRE(quarantined.has_transfer_quarantined());
  CHECK(quarantined.transfer_quarantined().error() == "scan failed (exit 2)");
  CHECK(quarantined.transfer_quarantined().direction() == "in");
  CHECK(quarantined.transfer_quarantined().peer() == "bob");
  const auto progress = Parse<proto::Event>(WaitFrame(*f.loop, console));
  REQUIRE(progress.has_transfer_progress());
  CHECK(progress.transfer_progress().bytes_done() == 40);
  CHECK(progress.transfer_progress().rate_bytes_per_s() == 10);

  // A peer on an older chat protocol, told to upgrade: its own event.
  feed.OnPeerOutdated("bob", "bob runs chat protocol 1; ask them to upgrade");
  const auto outdated = Parse<proto::Event>(WaitFrame(*f.loop, console));
  REQUIRE(outdated.has_peer_outdated());
  CHECK(outdated.peer_outdated().name() == "bob");
  CHECK(outdated.peer_outdated().detail() == "bob runs chat protocol 1; ask them to upgrade");
  f.Finish();
}

}  // namespace
}  // namespace confab::peer

namespace confab::peer {
namespace {

// Holds every request's reply until the test gives it.
struct LaterDelegate final : ControlServer::Delegate {
  proto::Response HandleControl(const proto::Request& /*request*/) override {
    FAIL("answered at once");
    return {};
  }
  void HandleControlLater(const proto::Request& request, Reply reply) override {
    texts.push_back(request.send().text());
    replies.push_back(std::move(reply));
  }
  std::vector<std::string> texts;
  std::vector<Reply> replies;
};

TEST_CASE("ControlServer answers a request whose reply comes later", "[peer][control]") {
  Fixture f;
  LaterDelegate later;
  f.Start();
  f.server->set_delegate(&later);
  RawClient waiting(f.path), gone(f.path);
  proto::Request request;
  request.mutable_send()->set_text("first");
  waiting.Send(request);
  request.mutable_send()->set_text("second");
  gone.Send(request);
  REQUIRE(RunUntil(*f.loop, [&] { return later.replies.size() == 2; }));
  // Nothing is written before the reply is given.
  REQUIRE_FALSE(RunUntil(
      *f.loop, [&] { return waiting.NextFrame().has_value(); }, 50));
  // The second client leaves; its server side closes and is destroyed.
  gone.CloseNow();
  REQUIRE_FALSE(RunUntil(
      *f.loop, [] { return false; }, 50));
  proto::Response answer;
  answer.set_ok(true);
  const size_t index_gone = later.texts[0] == "second" ? 0 : 1;
  answer.set_message_id("late");
  later.replies[index_gone](answer);  // dropped: that client is gone
  later.replies[1 - index_gone](answer);
  const auto response = Parse<proto::Response>(WaitFrame(*f.loop, waiting));
  CHECK(response.ok());
  CHECK(response.message_id() == "late");
  CHECK(RunUntil(*f.loop, [&] { return waiting.Poll(); }));
  f.Finish();
}

}  // namespace
}  // namespace confab::peer
