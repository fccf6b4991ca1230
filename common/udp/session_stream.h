// SessionStream: one byte stream of one Endpoint session, as a
// net::ByteStream, so the channel layer (Noise, the certificate checks, the
// chat and file protocols) runs over UDP exactly as over TCP.
//
// The Endpoint has one delegate; its owner routes each session's upcalls to
// the stream registered for it in a StreamTable (OnOpen, OnReadable,
// OnWritable, OnSessionClosed). A stream and its table may die in either
// order: the stream holds the table weakly, and a table whose endpoint is
// gone (Close) leaves its streams to report Closed.
//
// Like TCP: bytes written before Shutdown() are all acknowledged before the
// session is closed; bytes the peer sent before closing are all delivered
// (Endpoint keeps them readable during OnSessionClosed) before OnClosed.
// Writes beyond what the session's send buffer takes wait here, and
// want_write() turns false above kHighWaterBytes.
//
// Upcalls that could re-enter the caller (OnClosed, reads resumed by
// StartReading) are made from a 0 ms timer, i.e. a fresh stack.
// Not thread-safe: the loop's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/base/status.h"
#include "common/net/byte_stream.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "common/udp/endpoint.h"

namespace confab::udp {

class SessionStream;

// Which SessionStream serves which session; shared by the Endpoint's owner
// and its streams.
struct StreamTable {
  Endpoint* endpoint = nullptr;  // null once the owner closed the endpoint
  std::map<SessionId, SessionStream*> streams;

  SessionStream* Find(SessionId id) const {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : it->second;
  }
};

class SessionStream final : public net::ByteStream, private net::Timer::Delegate {
 public:
  static constexpr size_t kHighWaterBytes = 1 << 20;
  static constexpr size_t kLowWaterBytes = 256 << 10;
  // How long Shutdown waits for the peer to acknowledge everything.
  static constexpr uint64_t kShutdownTimeoutMs = 30'000;

  // Registers a stream for session `id` (stream number `stream`) in
  // `table`. `open`: the session is open already (accepted); otherwise
  // OnConnected follows OnOpen. FailedPrecondition without an endpoint.
  static Result<std::unique_ptr<SessionStream>> Create(net::Loop& loop,
                                                       std::shared_ptr<StreamTable> table,
                                                       SessionId id, uint8_t stream, bool open);
  ~SessionStream() override;

  SessionId session() const { return id_; }
  // The session's stream this one reads and writes.
  uint8_t stream() const { return stream_; }

  // net::ByteStream
  void set_delegate(net::StreamDelegate* delegate) override { delegate_ = delegate; }
  bool is_open() const override { return state_ == State::kOpen || state_ == State::kDraining; }
  Status StartReading() override;
  void StopReading() override { reading_ = false; }
  Status Write(Bytes data) override;
  bool want_write() const override { return state_ == State::kOpen && !blocked_; }
  size_t write_queue_bytes() const override { return queued_bytes_; }
  void Shutdown() override;
  void Close() override { Finish(Status::Ok(), /*close_session=*/true); }

  // The session is no longer this stream's (the owner hands it to another
  // stream, e.g. a dial that crossed the peer's): ends the stream with `why`
  // without closing the session or reading from it.
  void Abandon(Status why) { Finish(std::move(why), /*close_session=*/false); }

  // Routed from the Endpoint's delegate, each as the last thing it does.
  void OnOpen();
  void OnReadable();
  void OnWritable();
  void OnSessionClosed(Status why);

 private:
  enum class State {
    kConnecting,    // outbound, the handshake is under way
    kOpen,          // reads and writes
    kShuttingDown,  // waiting for our last bytes to be acknowledged
    kDraining,      // the peer closed; its last bytes are still to deliver
    kClosing,       // OnClosed is due from the timer
    kClosed,
  };

  SessionStream(std::shared_ptr<StreamTable> table, SessionId id, uint8_t stream, bool open);
  Endpoint* endpoint() const;
  void Unregister();
  void Flush();  // hands queued writes to the session
  // Delivers what is readable (from the session, then `unread_`) while
  // reading; false if the stream started closing meanwhile.
  bool Drain();
  // Ends the stream: closes the session (unless the peer did), and reports
  // OnClosed(`why`) from the timer once what the peer sent is delivered.
  void Finish(Status why, bool close_session);
  void OnTimer() override;

  std::weak_ptr<StreamTable> table_;
  const SessionId id_;
  const uint8_t stream_;
  net::StreamDelegate* delegate_ = nullptr;
  std::unique_ptr<net::Timer> timer_;
  State state_;
  bool reading_ = false;
  bool blocked_ = false;
  bool drain_pending_ = false;  // StartReading found bytes waiting
  std::deque<Bytes> queue_;     // written, not yet taken by the session
  size_t queue_front_offset_ = 0;
  size_t queued_bytes_ = 0;
  Bytes unread_;  // the peer's last bytes, kept after its session ended
  Status close_reason_;
  uint32_t shutdown_polls_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace confab::udp
