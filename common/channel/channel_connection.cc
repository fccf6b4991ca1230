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
  CONFAB_ASSIGN_OR_RETURN(c->tcp_, net::TcpConnection::Connect(loop, to, c.get(), options));
  c->peer_ = to;
  // Queued until connected; TcpConnection refuses writes before kOpen, so
  // keep the frame and write it from OnConnected.
  c->pending_first_frame_ = std::move(first_frame);
  CONFAB_RETURN_IF_ERROR(c->tcp_->StartReading());
  return c;
}

Result<std::unique_ptr<ChannelConnection>> ChannelConnection::Accept(
    net::TcpListener& listener, ResponderParams params, Delegate* delegate,
    net::TcpConnectionOptions options) {
  std::unique_ptr<ChannelConnection> c(
      new ChannelConnection(delegate, SecureChannel::Respond(std::move(params))));
  CONFAB_ASSIGN_OR_RETURN(c->tcp_, listener.Accept(c.get(), options));
  auto peer = c->tcp_->peer_address();
  if (peer.ok())
    c->peer_ = *peer;
  CONFAB_RETURN_IF_ERROR(c->tcp_->StartReading());
  return c;
}

void ChannelConnection::OnConnected() {
  Status s = tcp_->Write(std::move(pending_first_frame_));
  if (!s.ok())
    Fail(s);
}

Status ChannelConnection::Send(ByteView plaintext) {
  if (closing_after_reply_)
    return Status::FailedPrecondition("connection is closing");
  Bytes frame;
  CONFAB_RETURN_IF_ERROR(channel_->SealAppend(plaintext, &frame));
  return tcp_->Write(std::move(frame));
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
  return tcp_->Write(std::move(frames));
}

void ChannelConnection::Fail(Status reason) {
  if (!failure_)
    failure_ = std::move(reason);
  tcp_->Close();
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
    if (closing_after_reply_ || tcp_->state() != net::TcpConnection::State::kOpen) {
      return Status::Ok();  // closing: whatever else the peer sent is ignored
    }
    CONFAB_ASSIGN_OR_RETURN(std::optional<Event> event, channel_->Next());
    if (!event)
      return Status::Ok();
    switch (event->kind) {
      case Event::Kind::kHello: {
        CONFAB_ASSIGN_OR_RETURN(HelloAnswer answer, delegate_->OnHello(*this, *event));
        CONFAB_ASSIGN_OR_RETURN(Bytes frame, channel_->Accept(answer.payload, answer.psk));
        CONFAB_RETURN_IF_ERROR(tcp_->Write(std::move(frame)));
        if (answer.close_after_reply) {
          closing_after_reply_ = true;
          tcp_->Shutdown();
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
