#include "common/udp/session_stream.h"

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/net/net_test_util.h"

namespace confab::udp {
namespace {

using crypto::noise::GenerateKeyPair;
using crypto::noise::KeyPair;
using net::testing::CloseLoop;
using net::testing::MakeLoop;
using net::testing::RunUntil;

// What a stream tells its user. CHECK only: these run inside callbacks.
struct Recorder final : net::StreamDelegate {
  bool connected = false;
  Bytes received;
  std::optional<Status> closed;
  size_t writables = 0;
  void OnConnected() override { connected = true; }
  void OnRead(ByteView data) override { received.insert(received.end(), data.begin(), data.end()); }
  void OnWritable() override { ++writables; }
  void OnClosed(Status status) override { closed = std::move(status); }
};

// One side: an endpoint whose upcalls go to the streams in its table, and
// which serves every accepted session as a stream on `accept_stream`.
struct Side final : Endpoint::Delegate {
  net::Loop* loop = nullptr;
  std::unique_ptr<Endpoint> endpoint;
  std::shared_ptr<StreamTable> table = std::make_shared<StreamTable>();
  uint8_t accept_stream = datagram::kFileStream;
  std::vector<std::unique_ptr<SessionStream>> accepted;
  Recorder accepted_recorder;
  std::map<SessionId, Status> unowned_closed;

  Result<Bytes> OnIncomingSession(const PublicKey&, ByteView, const net::Address&) override {
    return Bytes{};
  }
  void OnSessionOpen(SessionId id, ByteView) override {
    if (SessionStream* s = table->Find(id)) {
      s->OnOpen();
      return;
    }
    auto stream = SessionStream::Create(*loop, table, id, accept_stream, /*open=*/true);
    CHECK(stream.ok());
    if (!stream.ok())
      return;
    (*stream)->set_delegate(&accepted_recorder);
    CHECK((*stream)->StartReading().ok());
    accepted.push_back(std::move(*stream));
  }
  void OnSessionReadable(SessionId id, uint8_t) override {
    if (SessionStream* s = table->Find(id))
      s->OnReadable();
  }
  void OnSessionWritable(SessionId id, uint8_t) override {
    if (SessionStream* s = table->Find(id))
      s->OnWritable();
  }
  void OnSessionClosed(SessionId id, Status why) override {
    if (SessionStream* s = table->Find(id))
      s->OnSessionClosed(std::move(why));
    else
      unowned_closed[id] = std::move(why);
  }
};

struct Pair {
  std::unique_ptr<net::Loop> loop = MakeLoop();
  KeyPair a_key = GenerateKeyPair();
  KeyPair b_key = GenerateKeyPair();
  Side a, b;
  std::optional<net::Address> b_address;

  explicit Pair(uint64_t give_up_us = datagram::kHandshakeGiveUpUs) {
    for (auto [side, key] : {std::pair{&a, &a_key}, std::pair{&b, &b_key}}) {
      EndpointOptions o{.bind = *net::Address::Parse("127.0.0.1:0"),
                        .static_key = *key,
                        .connection = {},
                        .monotonic_us = {},
                        .wall_us = {}};
      o.handshake_give_up_us = give_up_us;
      auto e = Endpoint::Create(*loop, o, side);
      REQUIRE(e.ok());
      side->loop = loop.get();
      side->endpoint = std::move(*e);
      side->table->endpoint = side->endpoint.get();
    }
    b_address = *b.endpoint->local_address();
  }
  // A dials B: a stream on the file stream, not yet connected.
  std::unique_ptr<SessionStream> Dial(Recorder* recorder, uint32_t slot = 0) {
    auto id = a.endpoint->Connect({*b_address}, b_key.public_key, {}, slot);
    REQUIRE(id.ok());
    auto stream = SessionStream::Create(*loop, a.table, *id, datagram::kFileStream, false);
    REQUIRE(stream.ok());
    (*stream)->set_delegate(recorder);
    REQUIRE((*stream)->StartReading().ok());
    return std::move(*stream);
  }
  void Finish() {
    a.table->endpoint = nullptr;
    b.table->endpoint = nullptr;
    a.endpoint.reset();
    b.endpoint.reset();
    CloseLoop(*loop);
  }
};

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<uint8_t>((i * 131 + seed) ^ (i >> 9));
  return out;
}

TEST_CASE("SessionStream refuses writes before it connects, then carries bytes both ways",
          "[udp][stream]") {
  Pair p;
  Recorder rec;
  auto stream = p.Dial(&rec);
  CHECK(stream->Write(Bytes{1, 2, 3}).code() == Status::Code::kFailedPrecondition);
  REQUIRE(RunUntil(*p.loop, [&] { return rec.connected && !p.b.accepted.empty(); }));
  CHECK(stream->is_open());

  // More than the session's send buffer (4 MiB) plus the high-water mark.
  const Bytes out = Pattern(6 << 20, 7);
  REQUIRE(stream->Write(out).ok());
  CHECK_FALSE(stream->want_write());  // above kHighWaterBytes until drained
  const Bytes back = Pattern(1000, 9);
  REQUIRE(p.b.accepted[0]->Write(back).ok());
  REQUIRE(RunUntil(
      *p.loop, [&] { return p.b.accepted_recorder.received.size() == out.size(); }, 30'000));
  CHECK(p.b.accepted_recorder.received == out);
  REQUIRE(RunUntil(*p.loop, [&] { return rec.received.size() == back.size(); }));
  CHECK(rec.received == back);
  CHECK(rec.writables >= 1);
  CHECK(stream->want_write());
  stream.reset();  // destroying an open stream closes its session
  REQUIRE(RunUntil(*p.loop, [&] { return p.b.accepted_recorder.closed.has_value(); }));
  CHECK(p.b.accepted_recorder.closed->code() == Status::Code::kClosed);
  p.Finish();
}

TEST_CASE("SessionStream delivers every byte sent before Shutdown, even to a paused reader",
          "[udp][stream]") {
  Pair p;
  Recorder rec;
  auto stream = p.Dial(&rec);
  REQUIRE(RunUntil(*p.loop, [&] { return rec.connected && !p.b.accepted.empty(); }));
  SessionStream& receiver = *p.b.accepted[0];
  receiver.StopReading();  // as a receiver whose disk is behind

  const Bytes out = Pattern(1 << 20, 3);  // within the session's receive window
  REQUIRE(stream->Write(out).ok());
  stream->Shutdown();
  CHECK_FALSE(stream->is_open());
  // The sender's Shutdown completes once the receiver's endpoint acked it
  // all; the session is then closed under the paused reader.
  REQUIRE(RunUntil(
      *p.loop, [&] { return rec.closed.has_value(); }, 10'000));
  CHECK(rec.closed->ok());
  REQUIRE(RunUntil(*p.loop, [&] { return p.b.table->streams.empty(); }));
  CHECK_FALSE(p.b.accepted_recorder.closed.has_value());  // bytes still to deliver
  CHECK(p.b.accepted_recorder.received.empty());

  REQUIRE(receiver.StartReading().ok());
  REQUIRE(RunUntil(*p.loop, [&] { return p.b.accepted_recorder.closed.has_value(); }));
  CHECK(p.b.accepted_recorder.received == out);
  CHECK(p.b.accepted_recorder.closed->code() == Status::Code::kClosed);
  p.Finish();
}

TEST_CASE("SessionStream reports a dial nobody answers as Unavailable", "[udp][stream][error]") {
  Pair p(300'000);
  Recorder rec;
  p.b.endpoint->Close();  // silent: no answer, no ICMP from a closed socket here
  auto stream = p.Dial(&rec);
  REQUIRE(RunUntil(
      *p.loop, [&] { return rec.closed.has_value(); }, 5000));
  CHECK_FALSE(rec.connected);
  CHECK(rec.closed->code() == Status::Code::kUnavailable);
  CHECK(p.a.table->streams.empty());
  p.Finish();
}

TEST_CASE("SessionStream Close ends the stream locally with OK and the peer's with Closed",
          "[udp][stream]") {
  Pair p;
  Recorder rec;
  auto stream = p.Dial(&rec);
  REQUIRE(RunUntil(*p.loop, [&] { return rec.connected && !p.b.accepted.empty(); }));
  stream->Close();
  CHECK(stream->Write(Bytes{1}).code() == Status::Code::kFailedPrecondition);
  CHECK(stream->StartReading().code() == Status::Code::kFailedPrecondition);
  REQUIRE(RunUntil(
      *p.loop, [&] { return rec.closed.has_value() && p.b.accepted_recorder.closed.has_value(); }));
  CHECK(rec.closed->ok());
  CHECK(p.b.accepted_recorder.closed->code() == Status::Code::kClosed);
  p.Finish();
}

TEST_CASE("Endpoint keeps sessions with one peer apart by slot", "[udp][endpoint][slot]") {
  Pair p;
  Recorder chat, file1, file2;
  auto s0 = p.Dial(&chat, 0);
  auto s1 = p.Dial(&file1, 17);
  auto s2 = p.Dial(&file2, 18);
  REQUIRE(RunUntil(*p.loop, [&] {
    return chat.connected && file1.connected && file2.connected && p.b.accepted.size() == 3;
  }));
  // A second session in slot 0 (the peer restarted) replaces only slot 0.
  Recorder chat2;
  auto again = p.Dial(&chat2, 0);
  REQUIRE(RunUntil(*p.loop, [&] { return chat2.connected && p.b.accepted.size() == 4; }));
  REQUIRE(s1->Write(Bytes{1, 2}).ok());
  REQUIRE(s2->Write(Bytes{3}).ok());
  REQUIRE(RunUntil(*p.loop, [&] { return p.b.accepted_recorder.received.size() == 3; }));
  CHECK(p.b.table->streams.size() == 3);  // slot 0's first session is gone
  CHECK(file1.closed == std::nullopt);
  CHECK(file2.closed == std::nullopt);
  p.Finish();
}

}  // namespace
}  // namespace confab::udp
