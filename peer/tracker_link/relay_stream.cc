#include "peer/tracker_link/relay_stream.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/base/proto_bytes.h"
#include "proto/channel.pb.h"
#include "proto/tracker.pb.h"

namespace confab::peer {

Result<std::unique_ptr<RelayStream>> RelayStream::Dial(net::Loop& loop, RelayStreamParams params,
                                                       net::StreamDelegate* delegate) {
  CONFAB_RETURN_IF_ERROR(loop.CheckOpen());
  std::unique_ptr<RelayStream> stream(new RelayStream(delegate, params.slot));
  CONFAB_ASSIGN_OR_RETURN(stream->deliver_, net::Timer::Create(loop, stream.get()));
  proto::RelayHello hello;
  hello.set_slot(params.slot);
  channel::InitiatorParams init;
  init.purpose = proto::PURPOSE_RELAY;
  init.local_static = params.local_static.secret_key;
  init.local_static_public = params.local_static.public_key;
  init.remote_static = params.tracker_static_key;
  init.payload = SerializeToBytes(hello);
  CONFAB_ASSIGN_OR_RETURN(
      stream->connection_,
      channel::ChannelConnection::Connect(loop, params.tracker, std::move(init), stream.get()));
  return stream;
}

RelayStream::~RelayStream() {
  if (deliver_)
    deliver_->Close();
}

Status RelayStream::StartReading() {
  reading_ = true;
  if (closed_)
    return Status::Ok();
  CONFAB_RETURN_IF_ERROR(connection_->ResumeReading());
  if (!kept_.empty())
    return deliver_->Start(0);
  return Status::Ok();
}

void RelayStream::StopReading() {
  reading_ = false;
  if (!closed_)
    connection_->PauseReading();
}

Status RelayStream::Write(Bytes data) {
  if (!open_)
    return Status::FailedPrecondition("the relayed stream is not open");
  std::vector<ByteView> chunks;
  for (size_t at = 0; at < data.size(); at += kRelayChunkBytes) {
    chunks.emplace_back(data.data() + at, std::min(kRelayChunkBytes, data.size() - at));
  }
  Status s = connection_->SendAll(chunks);
  if (!s.ok())
    connection_->Fail(s);  // the leg's send nonces moved on: it cannot go on
  return s;
}

bool RelayStream::want_write() const {
  return !closed_ && connection_->want_write();
}

size_t RelayStream::write_queue_bytes() const {
  return closed_ ? 0 : connection_->write_queue_bytes();
}

void RelayStream::Shutdown() {
  if (!closed_)
    connection_->Shutdown();
}

void RelayStream::Close() {
  if (!closed_)
    connection_->Close();
}

Result<channel::ChannelConnection::HelloAnswer> RelayStream::OnHello(channel::ChannelConnection&,
                                                                     const channel::Event&) {
  return Status::FailedPrecondition("a relayed leg is an initiator");
}

Status RelayStream::OnWelcome(channel::ChannelConnection& c, ByteView payload) {
  proto::RelayWelcome welcome;
  if (!ParseFromBytes(payload, &welcome))
    return Status::Corruption("relay: the tracker's welcome does not parse");
  if (!welcome.accepted()) {
    c.Fail(Status::PermissionDenied(
        "relay: " + (welcome.refusal().empty() ? std::string("refused") : welcome.refusal())));
    return Status::Ok();
  }
  open_ = true;
  delegate_->OnConnected();  // last
  return Status::Ok();
}

Status RelayStream::OnMessage(channel::ChannelConnection&, ByteView plaintext) {
  if (plaintext.empty())
    return Status::Ok();
  if (!reading_ || !kept_.empty()) {
    kept_.emplace_back(plaintext.begin(), plaintext.end());
    return Status::Ok();
  }
  delegate_->OnRead(plaintext);  // last
  return Status::Ok();
}

void RelayStream::OnTimer() {
  // One message per turn of the loop: the delegate may stop reading, close
  // or destroy nothing of ours in between (it owns us; it destroys us only
  // from OnClosed).
  if (!reading_ || kept_.empty() || closed_)
    return;
  Bytes next = std::move(kept_.front());
  kept_.pop_front();
  if (!kept_.empty())
    (void)deliver_->Start(0);
  delegate_->OnRead(next);  // last
}

void RelayStream::OnWritable(channel::ChannelConnection&) {
  delegate_->OnWritable();  // last
}

void RelayStream::OnClosed(channel::ChannelConnection&, Status status) {
  open_ = false;
  closed_ = true;
  kept_.clear();
  delegate_->OnClosed(std::move(status));  // last
}

}  // namespace confab::peer
