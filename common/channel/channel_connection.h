// ChannelConnection: one SecureChannel bound to one byte stream. It reads
// bytes, feeds the channel, hands each event to one Delegate, and writes the
// frames the channel produces. Used for every confab link: tracker sessions,
// joins, admin requests, chats and file transfers. The stream is a TCP
// connection, or one stream of a UDP session (ConnectOver/AcceptOver): the
// channel and its checks are the same on both.
//
// Events reach the delegate one at a time, from the read path, each as the
// last thing the code does before looking at the next event. An error the
// delegate returns closes the connection (its OnClosed carries the error);
// nothing after the bad message is processed.
//
// Lifetime: as net::TcpConnection. The delegate must outlive the connection;
// destroy the connection from OnClosed (or later), never from another upcall:
// Close() and Shutdown() only start closing, so they are safe anywhere.
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "common/base/result.h"
#include "common/channel/secure_channel.h"
#include "common/net/address.h"
#include "common/net/tcp_connection.h"
#include "common/net/tcp_listener.h"

namespace confab::channel {

class ChannelConnection final : private net::StreamDelegate {
 public:
  // What a responder answers to a hello.
  struct HelloAnswer {
    Bytes payload;
    std::optional<Psk> psk;          // joins
    bool close_after_reply = false;  // flush the reply, then close
  };

  class Delegate {
   public:
    virtual ~Delegate() = default;
    // Responder: handshake message 1. An error drops the connection without
    // an answer.
    virtual Result<HelloAnswer> OnHello(ChannelConnection& connection, const Event& hello) = 0;
    // Initiator: handshake message 2; the channel is established. An error
    // closes the connection.
    virtual Status OnWelcome(ChannelConnection& connection, ByteView payload) = 0;
    // A transport message. An error closes the connection.
    virtual Status OnMessage(ChannelConnection& connection, ByteView plaintext) = 0;
    // Writes can go on after backpressure (see want_write()).
    virtual void OnWritable(ChannelConnection& /*connection*/) {}
    // Exactly once, from a fresh stack; the connection may be destroyed here.
    // OK for a local Close/Shutdown; otherwise why it ended.
    virtual void OnClosed(ChannelConnection& connection, Status status) = 0;
  };

  // Dials `to` and starts the handshake (frame 1 is queued at once).
  // Connection failures arrive through OnClosed (Unavailable).
  [[nodiscard]] static Result<std::unique_ptr<ChannelConnection>> Connect(
      net::Loop& loop, const net::Address& to, InitiatorParams params, Delegate* delegate,
      net::TcpConnectionOptions options = {});

  // Takes the listener's pending connection as a responder.
  [[nodiscard]] static Result<std::unique_ptr<ChannelConnection>> Accept(
      net::TcpListener& listener, ResponderParams params, Delegate* delegate,
      net::TcpConnectionOptions options = {});

  // The same over any byte stream: `stream` is outbound and not connected
  // yet (its OnConnected sends the hello), or accepted and open. `peer` is
  // what peer_address() reports.
  [[nodiscard]] static Result<std::unique_ptr<ChannelConnection>> ConnectOver(
      std::unique_ptr<net::ByteStream> stream, std::optional<net::Address> peer,
      InitiatorParams params, Delegate* delegate);
  [[nodiscard]] static Result<std::unique_ptr<ChannelConnection>> AcceptOver(
      std::unique_ptr<net::ByteStream> stream, std::optional<net::Address> peer,
      ResponderParams params, Delegate* delegate);

  ~ChannelConnection() override;
  ChannelConnection(const ChannelConnection&) = delete;
  ChannelConnection& operator=(const ChannelConnection&) = delete;

  // Seals and queues one message. FailedPrecondition before the channel is
  // established or once closing; InvalidArgument if too large.
  [[nodiscard]] Status Send(ByteView plaintext);
  // Seals each message, in order, into one socket write (bulk senders: one
  // system call for several frames). Errors as Send; on error nothing of
  // this call is queued, but the channel's send nonces have moved on, so the
  // caller must close the connection.
  [[nodiscard]] Status SendAll(std::span<const ByteView> plaintexts);

  bool want_write() const { return stream_->want_write(); }
  size_t write_queue_bytes() const { return stream_->write_queue_bytes(); }
  bool established() const { return channel_->established(); }
  const SecureChannel& channel() const { return *channel_; }

  // Hands the connection's events to `delegate` from the next one on, e.g.
  // from inside OnHello, when a listener passes the connection to the module
  // that serves its purpose. The new delegate must outlive the connection.
  void set_delegate(Delegate* delegate) { delegate_ = delegate; }

  // Inbound backpressure: stop and restart reading from the stream (its
  // flow control does the rest). Events already read are still delivered.
  void PauseReading() { stream_->StopReading(); }
  [[nodiscard]] Status ResumeReading() { return stream_->StartReading(); }

  // Flushes what is queued, then closes.
  void Shutdown() { stream_->Shutdown(); }
  // Closes now, dropping queued writes. OnClosed(OK) follows.
  void Close() { stream_->Close(); }
  // Closes now with `reason` reported to OnClosed.
  void Fail(Status reason);

  // The peer's address as the kernel sees it (cached at accept/connect).
  const std::optional<net::Address>& peer_address() const { return peer_; }

 private:
  ChannelConnection(Delegate* delegate, std::unique_ptr<SecureChannel> channel);

  // net::StreamDelegate
  void OnConnected() override;
  void OnRead(ByteView data) override;
  void OnWritable() override;
  void OnClosed(Status status) override;

  Status Pump();  // processes every event the fed bytes complete

  Delegate* delegate_;
  std::unique_ptr<SecureChannel> channel_;
  std::unique_ptr<net::ByteStream> stream_;
  std::optional<net::Address> peer_;
  std::optional<Status> failure_;  // the reason to report instead of the TCP one
  Bytes pending_first_frame_;      // initiator: handshake frame 1, written on connect
  bool closing_after_reply_ = false;
};

}  // namespace confab::channel
