#include "peer/transfer/incoming.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/base/wall_clock.h"

namespace confab::peer::transfer {

double Incoming::rate_bytes_per_s(int64_t now_ms) const {
  if (phase_ != Phase::kReceiving || now_ms <= rate_base_ms_)
    return 0;
  return static_cast<double>(received_ - rate_base_bytes_) * 1000.0 /
         static_cast<double>(now_ms - rate_base_ms_);
}

std::unique_ptr<AlignedBuffer> Incoming::NewBatch() const {
  // Room for a batch, what one socket read adds past it, and an aligned tail.
  return std::make_unique<AlignedBuffer>(host_.params().write_batch_bytes + (1 << 20));
}

std::string Incoming::part_path() const {
  return host_.params().quarantine_dir + "/" + IdHex(record_.id) + ".part";
}

Status Incoming::Attach(std::unique_ptr<channel::ChannelConnection> connection,
                        const proto::FileOffer& offer) {
  if (offer.size() != record_.size)
    return Status::InvalidArgument("an offer that differs from the one on record");
  if (conn_) {
    conn_->Fail(Status::Closed("the sender opened a new connection"));
    retired_.push_back(std::move(conn_));
  }
  conn_ = std::move(connection);
  conn_->set_delegate(this);
  ++generation_;
  paused_ = false;
  return Answer();
}

Status Incoming::SendControl(const proto::FileFrame& frame) {
  if (!conn_)
    return Status::FailedPrecondition("not connected");
  return conn_->Send(ControlPlaintext(frame));
}

Status Incoming::Answer() {
  proto::FileFrame f;
  switch (record_.state) {
    case State::kOffered:
      phase_ = Phase::kOffered;
      f.mutable_wait();
      return SendControl(f);
    case State::kActive:
      if (phase_ == Phase::kFinishing) {
        f.mutable_wait();  // the result follows from OnFinished
        return SendControl(f);
      }
      StartReceive();
      return Status::Ok();
    case State::kRejected:
      f.mutable_reject()->set_reason(record_.error);
      break;
    case State::kCancelled:
      f.mutable_cancel()->set_reason(record_.error);
      break;
    default:
      f.mutable_result()->set_state(std::string(StateName(record_.state)));
      f.mutable_result()->set_reason(record_.error);
      break;
  }
  Status s = SendControl(f);
  conn_->Shutdown();
  return s;
}

void Incoming::StartReceive() {
  if (write_in_flight_ || (pending_ && !pending_->empty())) {
    start_when_idle_ = true;
    return;
  }
  start_when_idle_ = false;
  if (!conn_)
    return;
  phase_ = Phase::kOpening;
  ended_ = false;
  expected_digest_.clear();
  sink_.reset();
  std::weak_ptr<Incoming> self = weak_from_this();
  const uint32_t generation = generation_;
  const std::string path = part_path();
  const uint64_t offset = record_.bytes_done;
  Status s = RunInPool<std::shared_ptr<SinkFile>>(
      host_.loop(), [path, offset] { return OpenSink(path, offset); },
      [self, generation](Result<std::shared_ptr<SinkFile>> sink) {
        if (auto me = self.lock(); me && me->generation_ == generation)
          me->OnOpened(std::move(sink));
      });
  if (!s.ok())
    Fail(State::kFailed, s.ToString());
}

void Incoming::OnOpened(Result<std::shared_ptr<SinkFile>> sink) {
  if (phase_ != Phase::kOpening || !conn_)
    return;
  if (!sink.ok()) {
    Fail(State::kFailed, sink.status().ToString());
    return;
  }
  sink_ = std::move(*sink);
  received_ = rate_base_bytes_ = sink_->written;
  rate_base_ms_ = NowMs();
  next_sync_at_ = sink_->written + host_.params().sync_every_bytes;
  if (record_.bytes_done != sink_->written) {
    record_.bytes_done = sink_->written;
    host_.Save(record_);
  }
  phase_ = Phase::kReceiving;
  spdlog::info("transfer {} from {}: receiving from offset {}", IdHex(record_.id), record_.peer,
               sink_->written);
  proto::FileFrame f;
  f.mutable_accept()->set_offset(sink_->written);
  if (Status s = SendControl(f); !s.ok())
    conn_->Fail(s);
}

Result<channel::ChannelConnection::HelloAnswer> Incoming::OnHello(channel::ChannelConnection&,
                                                                  const channel::Event&) {
  return Status::FailedPrecondition("the hello was answered before");
}

Status Incoming::OnWelcome(channel::ChannelConnection&, ByteView) {
  return Status::FailedPrecondition("a responder gets no welcome");
}

Status Incoming::OnMessage(channel::ChannelConnection& connection, ByteView plaintext) {
  if (&connection != conn_.get())
    return Status::Ok();  // a superseded connection, closing
  if (plaintext.empty())
    return Status::Corruption("an empty file frame");
  if (plaintext[0] == kFrameData)
    return HandleData(plaintext.subspan(1));
  if (plaintext[0] != kFrameControl)
    return Status::Corruption("an unknown file frame");
  proto::FileFrame frame;
  if (!ParseFromBytes(plaintext.subspan(1), &frame))
    return Status::Corruption("a file control frame that does not parse");
  switch (frame.body_case()) {
    case proto::FileFrame::kEnd:
      return HandleEnd(AsBytes(frame.end().digest()));
    case proto::FileFrame::kCancel:
      Fail(State::kCancelled, "cancelled by " + record_.peer + ": " + frame.cancel().reason());
      return Status::Ok();
    default:
      return Status::Corruption("a file control frame a receiver does not take");
  }
}

Status Incoming::HandleData(ByteView data) {
  if (phase_ != Phase::kReceiving || ended_)
    return Status::FailedPrecondition("file data before an accept");
  if (received_ + data.size() > record_.size)
    return Status::Corruption("more data than the offer's size");
  if (!pending_)
    pending_ = NewBatch();
  pending_->Append(data);
  received_ += data.size();
  if (pending_->size() >= host_.params().write_batch_bytes) {
    if (!write_in_flight_) {
      Flush();
    } else if (!paused_) {
      // Double buffering: one batch on its way to disk, one filling. Until
      // the disk takes the first, TCP flow control holds the sender back.
      paused_ = true;
      conn_->PauseReading();
    }
  }
  return Status::Ok();
}

Status Incoming::HandleEnd(ByteView digest) {
  if (phase_ != Phase::kReceiving || ended_)
    return Status::FailedPrecondition("an end frame out of turn");
  if (received_ != record_.size)
    return Status::Corruption("an end frame before all the data");
  ended_ = true;
  expected_digest_ = ToBytes(digest);
  Flush();
  return Status::Ok();
}

void Incoming::Flush(bool force_sync) {
  if (write_in_flight_ || !sink_)
    return;
  const bool empty = !pending_ || pending_->empty();
  if (empty && !(force_sync && sink_->written > sink_->synced)) {
    if (ended_ && phase_ == Phase::kReceiving)
      StartFinish();
    else if (start_when_idle_)
      StartReceive();
    return;
  }
  // Only the last write of a connection syncs inline; the periodic durable
  // offset comes from a separate fdatasync job (MaybeSync) while writing
  // goes on.
  const bool last = force_sync || ended_ || !conn_ || start_when_idle_;
  std::shared_ptr<AlignedBuffer> data(pending_ ? pending_.release() : NewBatch().release());
  size_t length = data->size();
  if (!last) {
    // Keep the file's end on a 4 KiB boundary for O_DIRECT: the bytes past
    // it wait for the next batch.
    const uint64_t end = sink_->written + length;
    const uint64_t aligned_end = end / kDirectAlign * kDirectAlign;
    if (aligned_end <= sink_->written) {
      pending_ = NewBatch();
      pending_->Append(data->view());
      return;
    }
    length = static_cast<size_t>(aligned_end - sink_->written);
    pending_ = NewBatch();
    pending_->Append(data->view().subspan(length));
  }
  write_in_flight_ = true;
  std::weak_ptr<Incoming> self = weak_from_this();
  std::shared_ptr<SinkFile> sink = sink_;
  const bool sync = last;
  Status s = RunInPool<uint64_t>(
      host_.loop(),
      [sink, data, length, sync]() -> Result<uint64_t> {
        CONFAB_RETURN_IF_ERROR(WriteSink(*sink, data->view().first(length), sync));
        return sink->synced;
      },
      [self](Result<uint64_t> synced) {
        if (auto me = self.lock())
          me->OnWritten(synced.status(), synced.ok() ? *synced : 0);
      });
  if (!s.ok()) {
    write_in_flight_ = false;
    Fail(State::kFailed, s.ToString());
  }
}

void Incoming::OnWritten(Status status, uint64_t synced) {
  write_in_flight_ = false;
  if (!status.ok()) {
    Fail(State::kFailed, status.ToString());
    return;
  }
  if (IsFinal(record_.state))
    return;
  if (synced > record_.bytes_done) {
    record_.bytes_done = synced;  // durable: a resume starts here
    host_.Save(record_);
  }
  MaybeSync();
  if (paused_ && conn_) {
    paused_ = false;
    if (Status s = conn_->ResumeReading(); !s.ok())
      conn_->Fail(s);
  }
  if ((pending_ && pending_->size() >= host_.params().write_batch_bytes) || ended_ || !conn_ ||
      start_when_idle_)
    Flush(!conn_);
}

void Incoming::MaybeSync() {
  // No write is in flight here, so sink_->written is ours to read.
  if (sync_in_flight_ || !sink_ || sink_->written < next_sync_at_)
    return;
  const uint64_t offset = sink_->written;
  next_sync_at_ = offset + host_.params().sync_every_bytes;
  sync_in_flight_ = true;
  std::weak_ptr<Incoming> self = weak_from_this();
  std::shared_ptr<SinkFile> sink = sink_;
  Status s = RunInPool<uint64_t>(
      host_.loop(),
      [sink, offset]() -> Result<uint64_t> {
        // Concurrent with later pwrites on the same file: everything below
        // `offset` was written before this started, so it is covered.
        if (fdatasync(sink->fd) != 0)
          return Status::IoError("fsync " + sink->path);
        return offset;
      },
      [self, sink](Result<uint64_t> synced) {
        auto me = self.lock();
        if (!me)
          return;
        me->sync_in_flight_ = false;
        if (!synced.ok() || sink != me->sink_ || IsFinal(me->record_.state))
          return;
        if (*synced > me->record_.bytes_done) {
          me->record_.bytes_done = *synced;
          me->host_.Save(me->record_);
        }
      });
  if (!s.ok())
    sync_in_flight_ = false;
}

void Incoming::StartFinish() {
  phase_ = Phase::kFinishing;
  std::weak_ptr<Incoming> self = weak_from_this();
  std::shared_ptr<SinkFile> sink = sink_;
  const Bytes expected = expected_digest_;
  const std::string scan = host_.params().policy.scan_command;
  const std::string dest =
      record_.dest_dir.empty() ? host_.params().policy.download_dir : record_.dest_dir;
  const std::string name = record_.name;
  Status s = RunInPool<FinishOutcome>(
      host_.loop(),
      [sink, expected, scan, dest, name]() -> Result<FinishOutcome> {
        return FinishSink(*sink, expected, scan, dest, name);
      },
      [self](Result<FinishOutcome> outcome) {
        if (auto me = self.lock()) {
          if (outcome.ok())
            me->OnFinished(std::move(*outcome));
          else
            me->Fail(State::kQuarantined, outcome.status().ToString());
        }
      });
  if (!s.ok())
    Fail(State::kQuarantined, s.ToString());
}

void Incoming::OnFinished(FinishOutcome outcome) {
  sink_.reset();
  phase_ = Phase::kIdle;
  if (record_.state != State::kActive)
    return;  // cancelled meanwhile
  record_.state = outcome.state;
  record_.error = outcome.reason;
  record_.path = outcome.path;
  record_.digest = outcome.digest;
  record_.bytes_done = record_.size;
  host_.Save(record_);
  spdlog::info("transfer {} from {}: {}{}{}", IdHex(record_.id), record_.peer,
               StateName(record_.state), record_.error.empty() ? "" : ": ", record_.error);
  if (conn_) {
    proto::FileFrame f;
    f.mutable_result()->set_state(std::string(StateName(record_.state)));
    f.mutable_result()->set_reason(record_.error);
    (void)SendControl(f);
    conn_->Shutdown();
  }
}

Status Incoming::Accept(const std::string& dest_dir) {
  if (record_.state != State::kOffered)
    return Status::FailedPrecondition("transfer " + IdHex(record_.id) + " is " +
                                      std::string(StateName(record_.state)) + ", not offered");
  record_.state = State::kActive;
  record_.dest_dir = dest_dir.empty() ? host_.params().policy.download_dir : dest_dir;
  host_.Save(record_);
  if (conn_ && phase_ == Phase::kOffered)
    StartReceive();
  return Status::Ok();
}

Status Incoming::Reject(const std::string& reason) {
  if (record_.state != State::kOffered)
    return Status::FailedPrecondition("only an offered transfer can be rejected");
  if (conn_) {
    proto::FileFrame f;
    f.mutable_reject()->set_reason(reason);
    (void)SendControl(f);
  }
  Fail(State::kRejected, reason);
  return Status::Ok();
}

Status Incoming::Cancel(const std::string& reason) {
  if (IsFinal(record_.state))
    return Status::FailedPrecondition("transfer " + IdHex(record_.id) + " is already " +
                                      std::string(StateName(record_.state)));
  if (conn_) {
    proto::FileFrame f;
    f.mutable_cancel()->set_reason(reason);
    (void)SendControl(f);
  }
  Fail(State::kCancelled, reason);
  return Status::Ok();
}

void Incoming::Fail(State state, std::string error) {
  record_.state = state;
  record_.error = std::move(error);
  host_.Save(record_);
  spdlog::info("transfer {} from {}: {}: {}", IdHex(record_.id), record_.peer, StateName(state),
               record_.error);
  if (state == State::kCancelled || state == State::kRejected)
    (void)unlink(part_path().c_str());  // nothing of it is kept
  pending_.reset();
  sink_.reset();
  phase_ = Phase::kIdle;
  if (conn_)
    conn_->Shutdown();
}

void Incoming::Close() {
  if (conn_)
    conn_->Close();
  for (auto& old : retired_)
    old->Close();
}

void Incoming::OnClosed(channel::ChannelConnection& connection, Status status) {
  if (&connection != conn_.get()) {
    auto it = std::find_if(retired_.begin(), retired_.end(),
                           [&](const auto& c) { return c.get() == &connection; });
    if (it != retired_.end()) {
      std::unique_ptr<channel::ChannelConnection> dead = std::move(*it);
      retired_.erase(it);
    }
    return;
  }
  std::unique_ptr<channel::ChannelConnection> dead = std::move(conn_);
  ++generation_;
  if (!IsFinal(record_.state))
    spdlog::info("transfer {} from {}: connection closed ({}); waiting for the sender",
                 IdHex(record_.id), record_.peer, status.ToString());
  if (phase_ == Phase::kReceiving) {
    phase_ = Phase::kIdle;
    Flush(/*force_sync=*/true);  // what arrived becomes durable
  } else if (phase_ != Phase::kFinishing) {
    phase_ = Phase::kIdle;
  }
}

}  // namespace confab::peer::transfer
