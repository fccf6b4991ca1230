// internal::UvStream, the stream code TcpConnection, PipeConnection and
// FdReader share, tested through a PipeConnection held as a ByteStream (as
// the channel layer holds its streams). The far end is a plain socket, so
// each test controls exactly when it reads. tcp_test.cc covers connecting.
#include "common/net/uv_stream.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <catch2/catch.hpp>

#include "common/net/byte_stream.h"
#include "common/net/pipe.h"

#include "tests/unit/net/net_test_util.h"
#include "tests/unit/store/temp_dir.h"

namespace confab::net {
namespace {

using testing::CloseLoop;
using testing::MakeLoop;
using testing::RunUntil;

// Records every event of the stream it is the delegate of.
struct Recorder final : PipeConnection::Delegate {
  std::unique_ptr<ByteStream> stream;  // null unless this recorder owns it
  Bytes received;
  int writable = 0;
  int closes = 0;
  std::optional<Status> closed;
  size_t received_at_close = 0;
  bool destroy_on_read = false;  // queue a write, then destroy the stream

  void OnRead(ByteView data) override {
    received.insert(received.end(), data.begin(), data.end());
    if (destroy_on_read) {
      CHECK(stream->Write(Bytes(1 << 20, 7)).ok());
      stream.reset();
    }
  }
  void OnWritable() override { ++writable; }
  void OnClosed(Status status) override {
    ++closes;
    closed = std::move(status);
    received_at_close = received.size();
    stream.reset();  // the recommended place (A4.5)
  }
};

// A listening node.sock whose one accepted connection goes to `recorder`,
// and the client's end of it.
struct Fixture {
  struct Accepter final : PipeListener::Delegate {
    std::unique_ptr<PipeListener> listener;
    Recorder* recorder = nullptr;
    PipeConnection* accepted = nullptr;
    void OnIncoming(Status status) override {
      CHECK(status.ok());
      Result<std::unique_ptr<PipeConnection>> conn = listener->Accept(recorder);
      CHECK(conn.ok());
      if (!conn.ok())
        return;
      accepted = conn->get();
      recorder->stream = std::move(*conn);
    }
  };

  const store::TempDir dir;  // removed with the socket when the case ends
  std::unique_ptr<Loop> loop = MakeLoop();
  Recorder recorder;
  Accepter accepter;
  int client = -1;

  Fixture() {
    const std::string path = dir.File("node.sock");
    accepter.recorder = &recorder;
    Result<std::unique_ptr<PipeListener>> listener = PipeListener::Create(*loop, path, &accepter);
    REQUIRE(listener.ok());
    accepter.listener = std::move(*listener);

    client = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(client >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(RunUntil(*loop, [&] { return recorder.stream != nullptr; }));
    accepter.listener.reset();  // one connection is all a case needs
  }
  ~Fixture() {
    if (client >= 0)
      close(client);
  }

  ByteStream& stream() { return *recorder.stream; }

  void ClientWrite(const std::string& text) {
    REQUIRE(write(client, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  // What the client can read without blocking (after MakeClientNonBlocking),
  // appended to `into`; true once the stream's end has been read.
  bool ClientDrain(Bytes& into) {
    uint8_t chunk[64 * 1024];
    for (;;) {
      const ssize_t n = read(client, chunk, sizeof chunk);
      if (n > 0) {
        into.insert(into.end(), chunk, chunk + n);
        continue;
      }
      return n == 0;  // else EAGAIN: nothing more for now
    }
  }
  void MakeClientNonBlocking() {
    REQUIRE(fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK) == 0);
  }
  // Writes 64 KiB chunks of `fill` until want_write() turns false; the bytes
  // written (256 MiB would mean the marks do not work).
  size_t WriteUntilBlocked(uint8_t fill) {
    size_t written = 0;
    while (stream().want_write() && written < (256u << 20)) {
      REQUIRE(stream().Write(Bytes(64 * 1024, fill)).ok());
      written += 64 * 1024;
    }
    REQUIRE_FALSE(stream().want_write());
    return written;
  }
};

Bytes Pattern(size_t size) {
  Bytes bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<uint8_t>((i * 131 + 7) & 0xff);
  return bytes;
}

TEST_CASE("A PipeConnection carries a round trip through the ByteStream interface",
          "[net][stream]") {
  Fixture f;
  ByteStream& stream = f.stream();
  CHECK(stream.is_open());
  CHECK(stream.want_write());
  CHECK(stream.write_queue_bytes() == 0);
  REQUIRE(stream.StartReading().ok());
  REQUIRE(stream.StartReading().ok());  // idempotent
  f.ClientWrite("ping");
  REQUIRE(RunUntil(*f.loop, [&] { return f.recorder.received.size() == 4; }));
  CHECK(AsChars(f.recorder.received) == "ping");

  REQUIRE(stream.Write(ToBytes(AsBytes("pong"))).ok());
  REQUIRE(stream.Write(Bytes()).ok());  // empty: a no-op
  stream.Shutdown();
  CHECK_FALSE(stream.is_open());
  CHECK_FALSE(stream.want_write());
  REQUIRE(RunUntil(*f.loop, [&] { return f.recorder.closed.has_value(); }));
  CHECK(f.recorder.closed->ok());
  CHECK(f.recorder.closes == 1);
  CHECK(f.recorder.writable == 0);  // never blocked, so never told

  char reply[8] = {};
  CHECK(read(f.client, reply, sizeof reply) == 4);
  CHECK(std::string(reply, 4) == "pong");
  CHECK(read(f.client, reply, sizeof reply) == 0);  // then the end
  CloseLoop(*f.loop);
}

TEST_CASE("set_delegate sends a stream's later events to the new delegate", "[net][stream]") {
  Fixture f;
  Recorder second;
  f.stream().set_delegate(&second);
  REQUIRE(f.stream().StartReading().ok());
  f.ClientWrite("hello");
  REQUIRE(RunUntil(*f.loop, [&] { return second.received.size() == 5; }));
  close(std::exchange(f.client, -1));
  REQUIRE(RunUntil(*f.loop, [&] { return second.closed.has_value(); }));
  CHECK(second.closed->code() == Status::Code::kClosed);
  CHECK(f.recorder.received.empty());
  CHECK(f.recorder.closes == 0);
  f.recorder.stream.reset();  // closed already; nothing more to hear
  CloseLoop(*f.loop);
}

TEST_CASE("A stream reports Closed at the end of its input, after the last bytes",
          "[net][stream]") {
  Fixture f;
  REQUIRE(f.stream().StartReading().ok());
  f.ClientWrite("last words");
  REQUIRE(shutdown(f.client, SHUT_WR) == 0);  // EOF, while the client can still read
  REQUIRE(RunUntil(*f.loop, [&] { return f.recorder.closed.has_value(); }));
  CHECK(f.recorder.closed->code() == Status::Code::kClosed);
  CHECK(f.recorder.closed->message() == "peer closed the connection");
  CHECK(f.recorder.received_at_close == 10);
  CHECK(AsChars(f.recorder.received) == "last words");
  CHECK(f.recorder.closes == 1);
  CloseLoop(*f.loop);
}

TEST_CASE("Close with a write queued drops the write and reports OK", "[net][stream]") {
  Fixture f;
  // More than the socket buffers hold, with a client that does not read.
  REQUIRE(f.stream().Write(Bytes(8 << 20, 1)).ok());
  REQUIRE(f.stream().write_queue_bytes() > 0);
  f.stream().Close();
  f.stream().Close();  // idempotent
  CHECK(f.stream().write_queue_bytes() == 0);
  CHECK(f.stream().Write(Bytes(1, 1)).code() == Status::Code::kFailedPrecondition);
  REQUIRE(RunUntil(*f.loop, [&] { return f.recorder.closed.has_value(); }));
  CHECK(f.recorder.closed->ok());  // the cancelled write does not turn it into an error
  CHECK(f.recorder.closes == 1);

  f.MakeClientNonBlocking();
  Bytes got;
  REQUIRE(RunUntil(*f.loop, [&] { return f.ClientDrain(got); }));
  CHECK(got.size() < (8u << 20));  // what was queued never went out
  CloseLoop(*f.loop);              // the write request was freed: nothing leaks
}

TEST_CASE("want_write turns false above the high-water mark and OnWritable comes at the low one",
          "[net][stream][backpressure]") {
  Fixture f;
  f.MakeClientNonBlocking();
  const size_t written = f.WriteUntilBlocked(0x55);
  CHECK(f.stream().write_queue_bytes() > internal::kDefaultHighWaterBytes);
  CHECK(f.stream().is_open());  // blocked is not closed: Write still works
  REQUIRE(f.stream().Write(Bytes(10, 0x55)).ok());
  REQUIRE_FALSE(RunUntil(
      *f.loop, [&] { return f.recorder.writable > 0; }, 50));  // nobody reads: still blocked

  Bytes got;
  REQUIRE(RunUntil(*f.loop, [&] {
    f.ClientDrain(got);
    return f.recorder.writable > 0;
  }));
  CHECK(f.recorder.writable == 1);
  CHECK(f.stream().want_write());
  CHECK(f.stream().write_queue_bytes() <= internal::kDefaultLowWaterBytes);
  REQUIRE(RunUntil(*f.loop, [&] {
    f.ClientDrain(got);
    return got.size() == written + 10;
  }));
  CHECK(f.recorder.writable == 1);  // once per time it was blocked
  CloseLoop(*f.loop);
}

TEST_CASE("Shutdown sends every queued byte before OnClosed(OK)", "[net][stream]") {
  Fixture f;
  f.MakeClientNonBlocking();
  const Bytes data = Pattern(4 << 20);
  REQUIRE(f.stream().Write(data).ok());
  REQUIRE(f.stream().write_queue_bytes() > 0);
  f.stream().Shutdown();
  f.stream().Shutdown();  // idempotent
  CHECK(f.stream().Write(Bytes(1, 1)).code() == Status::Code::kFailedPrecondition);
  Bytes got;
  bool ended = false;
  REQUIRE(RunUntil(*f.loop, [&] {
    ended = ended || f.ClientDrain(got);
    return ended && f.recorder.closed.has_value();
  }));
  CHECK(f.recorder.closed->ok());
  CHECK(got == data);
  CloseLoop(*f.loop);
}

TEST_CASE("A closed stream refuses reads and writes and reports OnClosed once", "[net][stream]") {
  Fixture f;
  PipeConnection* conn = f.accepter.accepted;
  std::unique_ptr<ByteStream> owned = std::move(f.recorder.stream);  // lives past OnClosed
  ByteStream* stream = owned.get();
  stream->Close();
  CHECK(conn->state() == PipeConnection::State::kClosing);
  CHECK(stream->StartReading().code() == Status::Code::kFailedPrecondition);
  CHECK(stream->Write(Bytes(1, 1)).code() == Status::Code::kFailedPrecondition);
  stream->Shutdown();  // no-op once closing
  stream->StopReading();
  CHECK_FALSE(stream->want_write());
  REQUIRE(RunUntil(*f.loop, [&] { return f.recorder.closed.has_value(); }));
  CHECK(conn->state() == PipeConnection::State::kClosed);
  CHECK(f.recorder.closed->ok());
  stream->Close();
  REQUIRE_FALSE(RunUntil(
      *f.loop, [&] { return f.recorder.closes > 1; }, 50));
  CHECK(f.recorder.closes == 1);
  owned.reset();
  CloseLoop(*f.loop);
}

TEST_CASE("A stream destroyed inside OnRead with a write queued frees it and stays silent",
          "[net][stream]") {
  Fixture f;
  f.recorder.destroy_on_read = true;
  REQUIRE(f.stream().StartReading().ok());
  f.ClientWrite("x");
  REQUIRE(RunUntil(*f.loop, [&] { return f.recorder.stream == nullptr; }));
  REQUIRE_FALSE(RunUntil(
      *f.loop, [&] { return f.recorder.closes > 0; }, 50));
  CHECK(f.recorder.closes == 0);
  CloseLoop(*f.loop);
}

TEST_CASE("Loop::Close closes an open stream with Closed", "[net][stream][loop]") {
  Fixture f;
  REQUIRE(f.stream().StartReading().ok());
  CloseLoop(*f.loop);
  REQUIRE(f.recorder.closed.has_value());
  CHECK(f.recorder.closed->code() == Status::Code::kClosed);
  CHECK(f.recorder.closes == 1);
}

}  // namespace
}  // namespace confab::net
