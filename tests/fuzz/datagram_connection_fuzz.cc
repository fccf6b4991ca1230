// Fuzzes datagram::Connection with decrypted payloads an authenticated but
// hostile peer could send (after PacketProtector, everything is the peer's
// choice), interleaved with sends and timers.
//
// Input layout: a sequence of records, each 1 byte of time step (x 1 ms),
// 2 bytes of length, then that many payload bytes. Invariants:
//  - nothing crashes or reads out of bounds (ASan in the fuzz build);
//  - every payload the connection itself emits parses (ParseFrames is OK);
//  - once closed it stays closed and OnPacket answers Closed;
//  - reads return at most what readable() promised.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/datagram/connection.h"
#include "common/datagram/frame.h"

namespace {

using confab::Bytes;
using confab::ByteView;
using confab::datagram::Connection;
using confab::datagram::ConnectionConfig;
using confab::datagram::kMaxStreams;
using confab::datagram::ParseFrames;

#define FUZZ_CHECK(cond)                                     \
  do {                                                       \
    if (!(cond)) {                                           \
      std::fprintf(stderr, "invariant failed: %s\n", #cond); \
      std::abort();                                          \
    }                                                        \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ConnectionConfig config;
  config.send_buffer_bytes = 1 << 16;
  config.receive_window_bytes = 1 << 16;
  Connection conn(config, 0);
  const uint8_t hello[] = "some data to send";
  (void)conn.Write(1, ByteView(hello, sizeof(hello)));
  uint64_t now = 1000;
  uint64_t number = 0;
  Bytes out(config.max_payload_bytes());
  size_t pos = 0;
  while (pos + 3 <= size) {
    now += static_cast<uint64_t>(data[pos]) * 1000;
    const size_t length = (static_cast<size_t>(data[pos + 1]) << 8) | data[pos + 2];
    pos += 3;
    const size_t take = length < size - pos ? length : size - pos;
    const bool was_closed = conn.closed();
    const confab::Status s = conn.OnPacket(now, number++, ByteView(data + pos, take));
    pos += take;
    if (was_closed)
      FUZZ_CHECK(s.code() == confab::Status::Code::kClosed);
    if (!s.ok())
      FUZZ_CHECK(conn.closed());
    if (conn.NextDeadlineUs() <= now)
      conn.OnTimeout(now);
    for (int i = 0; i < 64; ++i) {
      auto packet = conn.NextPacket(now, out);
      if (!packet)
        break;
      FUZZ_CHECK(packet->size <= out.size());
      FUZZ_CHECK(ParseFrames(ByteView(out.data(), packet->size)).ok());
    }
    for (uint8_t stream = 0; stream < kMaxStreams; ++stream) {
      uint8_t buf[4096];
      const size_t readable = conn.readable(stream);
      const size_t n = conn.Read(stream, buf);
      FUZZ_CHECK(n <= readable);
    }
  }
  return 0;
}
