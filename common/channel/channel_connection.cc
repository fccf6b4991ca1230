#include "common/channel/channel_connection.h"

#include <utility>

namespace confab::channel {

ChannelConnection::ChannelConnection(Delegate* delegate, std::unique_ptr<SecureChannel> channel)
    : delegate_(delegate), channel_(std::move(channel)) {}

ChannelConnection::~ChannelConnection() = default;

Result<std::unique_ptr<ChannelConnection>> ChannelConnection::Connect(
    net::Loop& loop, const net::Address& to, InitiatorParams params, Delegate* delegate,
    net::TcpConnectionOptions options) {
  Bytes first_frame;
  CONFAB_ASSIGN_OR_RETURN(auto channel, SecureChannel::Initiate(std::move(params), &first_frame));
  std::unique_ptr<ChannelConnection> c(new ChannelConnection(delegate, std::move(channel)));
  CONFAB_ASSIGN_OR_RETURN(c->stream_, net::TcpConnection::Connect(loop, to, c.get(), options));
  c->peer_ = to;
  // Queued until connected; streams refuse writes before they are open, so
  // keep the frame and write it from OnConnected.
  c->pending_first_frame_ = std::move(first_frame);
  CONFAB_RETURN_IF_ERROR(c->stream_->StartReading());
  return c;
}

Result<std::unique_ptr<ChannelConnection>> ChannelConnection::ConnectOver(
    std::unique_ptr<net::ByteStream> stream, std::optional<net::Address> peer,
    InitiatorParams params, Delegate* delegate) {
  if (!stream)
    return Status::InvalidArgument("no stream");
  Bytes first_frame;
  CONFAB_ASSIGN_OR_RETURN(auto channel, SecureChannel::Initiate(std::move(params), &first_frame));
  std::unique_ptr<ChannelConnection> c(new ChannelConnection(delegate, std::move(channel)));
  c->stream_ = std::move(stream);
  c->stream_->set_delegate(c.get());
  c->peer_ = std::move(peer);
  c->pending_first_frame_ = std::move(first_frame);
  CONFAB_RETURN_IF_ERROR(c->stream_->StartReading());
  return c;
}

Result<std::unique_ptr<ChannelConnection>> ChannelConnection::AcceptOver(
    std::unique_ptr<net::ByteStream> stream, std::optional<net::Address> peer,
    ResponderParams params, Delegate* delegate) {
  if (!stream)
    return Status::InvalidArgument("no stream");
  std::unique_ptr<ChannelConnection> c(
      new ChannelConnection(delegate, SecureChannel::Respond(std::move(params))));
  c->stream_ = std::move(stream);
  c->stream_->set_delegate(c.get());
  c->peer_ = std::move(peer);
  CONFAB_RETURN_IF_ERROR(c->stream_->StartReading());
  return c;
}

Result<std::unique_ptr<ChannelConnection>> ChannelConnection::Accept(
    net::TcpListener& listener, ResponderParams params, Delegate* delegate,
    net::TcpConnectionOptions options) {
  std::unique_ptr<ChannelConnection> c(
      new ChannelConnection(delegate, SecureChannel::Respond(std::move(params))));
  CONFAB_ASSIGN_OR_RETURN(std::unique_ptr<net::TcpConnection> tcp,
                          listener.Accept(c.get(), options));
  auto peer = tcp->peer_address();
  if (peer.ok())
    c->peer_ = *peer;
  c->stream_ = std::move(tcp);
  CONFAB_RETURN_IF_ERROR(c->stream_->StartReading());
  return c;
}

void ChannelConnection::OnConnected() {
  Status s = stream_->Write(std::move(pending_first_frame_));
  if (!s.ok())
    Fail(s);
}

Status ChannelConnection::Send(ByteView plaintext) {
  if (closing_after_reply_)
    return Status::FailedPrecondition("connection is closing");
  Bytes frame;
  CONFAB_RETURN_IF_ERROR(channel_->SealAppend(plaintext, &frame));
  return stream_->Write(std::move(frame));
}

Status ChannelConnection::SendAll(std::span<const ByteView> plaintexts) {
  if (closing_after_reply_)
    return Status::FailedPrecondition("connection is closing");
  size_t total = 0;
  for (ByteView p : plaintexts)
    total += wire::kFrameHeaderBytes + p.size() + crypto::noise::kTagLen;
  Bytes frames;
  frames.reserve(total);
  for (ByteView p : plaintexts)
    CONFAB_RETURN_IF_ERROR(channel_->SealAppend(p, &frames));
  return stream_->Write(std::move(frames));
}

void ChannelConnection::Fail(Status reason) {
  if (!failure_)
    failure_ = std::move(reason);
  stream_->Close();
}

void ChannelConnection::OnRead(ByteView data) {
  Status s = channel_->Feed(data);
  if (s.ok())
    s = Pump();
  if (!s.ok())
    Fail(std::move(s));
}

Status ChannelConnection::Pump() {
  for (;;) {
    if (closing_after_reply_ || !stream_->is_open()) {
      return Status::Ok();  // closing: whatever else the peer sent is ignored
    }
    CONFAB_ASSIGN_OR_RETURN(std::optional<Event> event, channel_->Next());
    if (!event)
      return Status::Ok();
    switch (event->kind) {
      case Event::Kind::kHello: {
        CONFAB_ASSIGN_OR_RETURN(HelloAnswer answer, delegate_->OnHello(*this, *event));
        CONFAB_ASSIGN_OR_RETURN(Bytes frame, channel_->Accept(answer.payload, answer.psk));
        CONFAB_RETURN_IF_ERROR(stream_->Write(std::move(frame)));
        if (answer.close_after_reply) {
          closing_after_reply_ = true;
          stream_->Shutdown();
        }
        break;
      }
      case Event::Kind::kWelcome:
        CONFAB_RETURN_IF_ERROR(delegate_->OnWelcome(*this, event->payload));
        break;
      case Event::Kind::kMessage:
        CONFAB_RETURN_IF_ERROR(delegate_->OnMessage(*this, event->payload));
        break;
    }
  }
}

void ChannelConnection::OnWritable() {
  delegate_->OnWritable(*this);
}

void ChannelConnection::OnClosed(Status status) {
  if (failure_)
    status = *failure_;
  delegate_->OnClosed(*this, std::move(status));
}

}  // namespace confab::channel
