// TcpConnection: one TCP stream, outbound (Connect) or accepted
// (TcpListener::Accept), owning its uv_tcp_t as STYLE.md A4 and Part C say.
// A thin layer over internal::UvStream (uv_stream.h), which it shares with
// PipeConnection and FdReader: this file adds connecting, accepting, the
// options and the addresses.
//
// Events reach one Delegate, each as the last thing the callback does:
//   OnConnected   an outbound connection is established (never for accepted)
//   OnRead        bytes arrived (only between StartReading and StopReading)
//   OnWritable    want_write() turned true again (backpressure cleared)
//   OnClosed      the handle is closed; exactly once, unless the connection
//                 is destroyed first. Its Status says why:
//                   OK           Close() or a completed Shutdown()
//                   Closed       the peer closed (EOF) or reset, or the Loop
//                                closed the connection in Loop::Close()
//                   Unavailable  connect refused, timed out, unreachable
//                   other        a read, write or shutdown error (FromUv)
//
// Lifetime: the delegate must outlive the connection (or at least its
// OnClosed). Destroy the connection from OnClosed (A4.5), which runs on a
// fresh stack; destroying it anywhere else is also memory-safe: the handle
// closes itself, queued writes are cancelled and freed, and no upcall
// follows. Close() only starts closing, so it is safe from any callback.
//
// Writes and backpressure (Part C #4-#7): Write() takes the bytes by value;
// each write request owns them until its callback, which frees them on every
// path. Bytes libuv could not hand to the kernel at once wait in the write
// queue. When it grows past `high_water_bytes`, want_write() turns false;
// producers should stop until OnWritable(), which comes when the queue has
// drained to `low_water_bytes`. Write() itself never refuses for size: the
// limit is the caller's to respect.
//
// Inbound backpressure (Part C #8): StopReading() and TCP flow control.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/address.h"
#include "common/net/byte_stream.h"
#include "common/net/loop.h"
#include "common/net/uv_stream.h"

namespace confab::net {

// Write-queue marks for backpressure; see above. (Outside the class so that
// it can be a default argument of the class's own functions.)
struct TcpConnectionOptions {
  size_t high_water_bytes = internal::kDefaultHighWaterBytes;  // 1 MiB
  size_t low_water_bytes = internal::kDefaultLowWaterBytes;    // 256 KiB; at most the high mark
  // Connect only: the local address to bind before connecting (port 0 lets
  // the kernel choose the port). Unset: the kernel chooses both. Load tests
  // bind to many 127.x.y.z addresses to get past one address's ephemeral
  // ports. Must be of the same family as the destination.
  std::optional<Address> bind_local;
};

class TcpConnection final : public internal::UvStream {
 public:
  using Delegate = StreamDelegate;

  using Options = TcpConnectionOptions;

  // State, state() and the ByteStream calls (StartReading, Write,
  // want_write, Shutdown, Close, ...) are UvStream's: see uv_stream.h.

  // Starts connecting; OnConnected or OnClosed(error) follows. Returns an
  // error only for what fails at once: InvalidArgument for bad Options (a
  // bind_local of another family than `to`), FailedPrecondition if the loop
  // is closing, a uv_tcp_init/bind/connect error (e.g. an address that is
  // not local).
  // A refused connection is reported through OnClosed (Unavailable).
  static Result<std::unique_ptr<TcpConnection>> Connect(Loop& loop, const Address& to,
                                                        Delegate* delegate, Options options = {});
  ~TcpConnection() override = default;

  // The kernel's view of the two ends. FailedPrecondition once closing; the
  // uv error (e.g. not connected yet) otherwise.
  Result<Address> peer_address() const;
  Result<Address> local_address() const;

 private:
  friend class TcpListener;
  // Only the marks are kept: bind_local is used once, in Connect, and every
  // accepted connection would otherwise carry its sockaddr_storage.
  TcpConnection(Delegate* delegate, const Options& options, State state)
      : UvStream(delegate, state, options.high_water_bytes, options.low_water_bytes) {}
  static Status CheckOptions(const Options& options);
  // For TcpListener::Accept: takes the pending connection off `server`.
  static Result<std::unique_ptr<TcpConnection>> AcceptFrom(Loop& loop, uv_stream_t* server,
                                                           Delegate* delegate, Options options);
  Status Init(Loop& loop);
  // peer_address or local_address, by `get_name`.
  Result<Address> NameOf(int (*get_name)(const uv_tcp_t*, sockaddr*, int*), const char* what) const;
};

}  // namespace confab::net
