// ByteStream: a reliable, ordered byte stream between two hosts, whatever
// carries it: a TCP connection (tcp_connection.h) or one stream of a UDP
// session (common/udp/session_stream.h). The channel layer runs Noise over
// either without knowing which (channel_connection.h).
//
// The contract is TcpConnection's (see its header for the details):
//   - events reach one StreamDelegate, each as the last thing a callback does;
//   - OnConnected once an outbound stream is up (never for accepted ones);
//   - OnClosed exactly once, from a fresh stack, unless the stream is
//     destroyed first: OK after Close() or a completed Shutdown(), Closed when
//     the peer ended it, Unavailable when it never connected, else the error;
//   - Write() takes the bytes and never refuses for size; want_write() turns
//     false above the high-water mark and OnWritable() says when to go on;
//   - StopReading() is inbound backpressure: the transport's own flow control
//     holds the peer back.
#pragma once

#include <cstddef>

#include "common/base/bytes.h"
#include "common/base/status.h"

namespace confab::net {

class StreamDelegate {
 public:
  virtual ~StreamDelegate() = default;
  virtual void OnConnected() = 0;
  // `data` is valid only during the call; never empty.
  virtual void OnRead(ByteView data) = 0;
  virtual void OnWritable() = 0;
  virtual void OnClosed(Status status) = 0;
};

class ByteStream {
 public:
  virtual ~ByteStream() = default;

  // Hands the events to `delegate` from now on (it must outlive the stream).
  virtual void set_delegate(StreamDelegate* delegate) = 0;
  // Reads and writes are allowed (connected, not closing).
  virtual bool is_open() const = 0;

  virtual Status StartReading() = 0;
  virtual void StopReading() = 0;
  // FailedPrecondition unless open.
  virtual Status Write(Bytes data) = 0;
  virtual bool want_write() const = 0;
  virtual size_t write_queue_bytes() const = 0;

  // Sends everything queued, then closes (OnClosed(OK)).
  virtual void Shutdown() = 0;
  // Closes now, dropping queued writes.
  virtual void Close() = 0;
};

}  // namespace confab::net
