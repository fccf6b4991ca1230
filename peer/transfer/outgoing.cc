#include "peer/transfer/outgoing.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/base/proto_bytes.h"
#include "common/base/wall_clock.h"

namespace confab::peer::transfer {
namespace {

// Ready batches kept besides the one read in flight.
constexpr size_t kMaxReadyBatches = 2;
// Data frames sealed into one socket write (1 MiB).
constexpr size_t kFramesPerWrite = 16;

}  // namespace

double Outgoing::rate_bytes_per_s(int64_t now_ms) const {
  if (phase_ != Phase::kSending || now_ms <= rate_base_ms_)
    return 0;
  return static_cast<double>(bytes_sent_ - rate_base_bytes_) * 1000.0 /
         static_cast<double>(now_ms - rate_base_ms_);
}

int64_t Outgoing::Backoff() {
  // retry_ms, doubling with each attempt that does not get an answer, at
  // most 16 times retry_ms; an answer from the receiver resets it.
  const int64_t delay = static_cast<int64_t>(host_.params().retry_ms) << std::min(attempts_, 4);
  ++attempts_;
  return delay;
}

bool Outgoing::retry_due(int64_t now_ms) const {
  return !IsFinal(record_.state) && phase_ == Phase::kIdle && !conn_ && !reaching_ &&
         now_ms >= next_try_ms_;
}

void Outgoing::Reach(int64_t now_ms) {
  next_try_ms_ = now_ms + Backoff();
  if (IsFinal(record_.state) || conn_ || reaching_)
    return;
  Dialer::Request request;
  request.name = record_.peer;
  request.initiator = FileInitiator();
  request.tcp_options.high_water_bytes = 8 << 20;
  request.tcp_options.low_water_bytes = 2 << 20;
  request.prefer_udp = host_.ReachedOverUdp(record_.peer);
  request.hold_after_no_path = false;  // the backoff above paces the retries
  if (host_.dialer() == nullptr)
    return;
  reaching_ = true;  // before Reach: it may answer at once
  if (Status s = host_.dialer()->Reach(std::move(request), this); !s.ok()) {
    reaching_ = false;
    spdlog::info("transfer {}: cannot reach {} yet: {}", IdHex(record_.id), record_.peer,
                 s.ToString());
  }
}

void Outgoing::OnNotReached(const std::string& name, const Status& why,
                            const std::optional<PathReport>& /*path*/) {
  reaching_ = false;
  spdlog::info("transfer {}: cannot reach {} yet: {}", IdHex(record_.id), name, why.ToString());
}

channel::InitiatorParams Outgoing::FileInitiator() const {
  channel::InitiatorParams params;
  params.purpose = proto::PURPOSE_FILE;
  params.cipher = host_.params().cipher;
  params.local_static = host_.params().local_static.secret_key;
  params.local_static_public = host_.params().local_static.public_key;
  params.payload = host_.params().certificate;
  return params;
}

void Outgoing::OnReached(const std::string& name,
                         std::unique_ptr<channel::ChannelConnection> connection,
                         const PathReport& path, udp::SessionId /*session*/) {
  reaching_ = false;
  conn_ = std::move(connection);
  conn_->set_delegate(this);
  ++generation_;
  spdlog::info("transfer {}: connected to {} over {} ({})", IdHex(record_.id), name,
               TransportName(path.transport), path.reason);
  if (IsFinal(record_.state)) {
    conn_->Close();  // cancelled meanwhile; OnClosed drops it
    return;
  }
  phase_ = Phase::kOffered;
  proto::FileFrame frame;
  proto::FileOffer* offer = frame.mutable_offer();
  offer->set_id(record_.id.data(), record_.id.size());
  offer->set_name(record_.name);
  offer->set_size(record_.size);
  offer->set_type(record_.type);
  if (Status s = SendControl(frame); !s.ok())
    conn_->Fail(s);  // OnClosed follows from a fresh stack
}

Result<channel::ChannelConnection::HelloAnswer> Outgoing::OnHello(channel::ChannelConnection&,
                                                                  const channel::Event&) {
  return Status::FailedPrecondition("an initiator gets no hello");
}

Status Outgoing::OnWelcome(channel::ChannelConnection&, ByteView) {
  return Status::FailedPrecondition("a welcome after the Dialer handed the channel over");
}

Status Outgoing::SendControl(const proto::FileFrame& frame) {
  if (!conn_)
    return Status::FailedPrecondition("not connected");
  return conn_->Send(ControlPlaintext(frame));
}

Status Outgoing::OnMessage(channel::ChannelConnection&, ByteView plaintext) {
  if (plaintext.empty() || plaintext[0] != kFrameControl)
    return Status::Corruption("a receiver sends control frames only");
  proto::FileFrame frame;
  if (!ParseFromBytes(plaintext.subspan(1), &frame))
    return Status::Corruption("a file control frame that does not parse");
  attempts_ = 0;  // the receiver answers
  switch (frame.body_case()) {
    case proto::FileFrame::kAccept:
      if (phase_ != Phase::kOffered)
        return Status::FailedPrecondition("an accept out of turn");
      return HandleAccept(frame.accept().offset());
    case proto::FileFrame::kWait:
      return Status::Ok();  // their person has not answered yet
    case proto::FileFrame::kReject:
      Finish(State::kRejected, "rejected: " + frame.reject().reason());
      return Status::Ok();
    case proto::FileFrame::kCancel:
      Finish(State::kCancelled, "cancelled by " + record_.peer + ": " + frame.cancel().reason());
      return Status::Ok();
    case proto::FileFrame::kResult: {
      const std::string& state = frame.result().state();
      if (state == "completed") {
        bytes_sent_ = record_.size;
        Finish(State::kCompleted, "");
      } else {
        Finish(state == "quarantined" ? State::kQuarantined : State::kFailed,
               record_.peer + ": " + frame.result().reason());
      }
      return Status::Ok();
    }
    default:
      return Status::Corruption("a file control frame a sender does not take");
  }
}

Status Outgoing::HandleAccept(uint64_t offset) {
  if (offset > record_.size)
    return Status::InvalidArgument("an accept beyond the end of the file");
  record_.state = State::kActive;
  record_.bytes_done = offset;
  host_.Save(record_);
  phase_ = Phase::kOpening;
  bytes_sent_ = rate_base_bytes_ = offset;
  rate_base_ms_ = NowMs();
  ready_.clear();
  next_frame_ = 0;
  read_eof_ = false;
  file_.reset();
  std::weak_ptr<Outgoing> self = weak_from_this();
  const uint32_t generation = generation_;
  const std::string path = record_.source;
  const uint64_t size = record_.size;
  Status s = RunInPool<std::shared_ptr<SourceFile>>(
      host_.loop(), [path, size, offset] { return OpenSource(path, size, offset); },
      [self, generation](Result<std::shared_ptr<SourceFile>> file) {
        if (auto me = self.lock(); me && me->generation_ == generation)
          me->OnOpened(std::move(file));
      });
  return s;
}

void Outgoing::OnOpened(Result<std::shared_ptr<SourceFile>> file) {
  if (phase_ != Phase::kOpening)
    return;
  if (!file.ok()) {
    spdlog::warn("transfer {}: {}", IdHex(record_.id), file.status().ToString());
    if (conn_)
      (void)SendControl([&] {
        proto::FileFrame f;
        f.mutable_cancel()->set_reason("the sender cannot read the file");
        return f;
      }());
    Finish(State::kFailed, file.status().ToString());
    return;
  }
  file_ = std::move(*file);
  phase_ = Phase::kSending;
  read_eof_ = file_->position == file_->size;
  if (read_eof_)
    digest_ = file_->digest;
  Pump();
}

void Outgoing::StartRead() {
  if (read_in_flight_ || read_eof_ || !file_ || ready_.size() >= kMaxReadyBatches)
    return;
  read_in_flight_ = true;
  std::weak_ptr<Outgoing> self = weak_from_this();
  const uint32_t generation = generation_;
  std::shared_ptr<SourceFile> file = file_;
  const size_t batch = host_.params().read_batch_bytes;
  Status s = RunInPool<ReadBatch>(
      host_.loop(), [file, batch] { return ReadNext(*file, batch); },
      [self, generation](Result<ReadBatch> read) {
        auto me = self.lock();
        if (!me)
          return;
        me->read_in_flight_ = false;
        if (me->generation_ == generation)
          me->OnRead(std::move(read));
      });
  if (!s.ok()) {
    read_in_flight_ = false;
    if (conn_)
      conn_->Fail(s);
  }
}

void Outgoing::OnRead(Result<ReadBatch> batch) {
  if (phase_ != Phase::kSending || !conn_)
    return;
  if (!batch.ok()) {
    spdlog::warn("transfer {}: {}", IdHex(record_.id), batch.status().ToString());
    proto::FileFrame f;
    f.mutable_cancel()->set_reason("the sender cannot read the file");
    (void)SendControl(f);
    Finish(State::kFailed, batch.status().ToString());
    return;
  }
  if (batch->eof) {
    read_eof_ = true;
    digest_ = file_->digest;
  }
  ready_.push_back(std::move(*batch));
  Pump();
}

void Outgoing::Pump() {
  if (phase_ != Phase::kSending || !conn_)
    return;
  StartRead();  // the next batch is read while this one is sealed and written
  while (!ready_.empty() && conn_->want_write()) {
    ReadBatch& batch = ready_.front();
    if (next_frame_ < batch.frames.size()) {
      if (OverRate())
        return;
      // Up to kFramesPerWrite frames in one socket write.
      ByteView group[kFramesPerWrite];
      size_t n = 0;
      while (n < kFramesPerWrite && next_frame_ + n < batch.frames.size()) {
        const auto [start, length] = batch.frames[next_frame_ + n];
        group[n++] = ByteView(batch.buffer.data() + start, length);
        bytes_sent_ += length - 1;
      }
      next_frame_ += n;
      if (Status s = conn_->SendAll(std::span<const ByteView>(group, n)); !s.ok()) {
        conn_->Fail(s);
        return;
      }
      continue;
    }
    ready_.pop_front();
    next_frame_ = 0;
    StartRead();
  }
  if (ready_.empty() && read_eof_ && !read_in_flight_ && conn_->want_write()) {
    phase_ = Phase::kEnded;
    proto::FileFrame f;
    f.mutable_end()->set_digest(digest_.data(), digest_.size());
    record_.digest = digest_;
    record_.bytes_done = bytes_sent_;
    host_.Save(record_);
    if (Status s = SendControl(f); !s.ok())
      conn_->Fail(s);
  }
}

bool Outgoing::OverRate() {
  const uint64_t rate = host_.params().policy.max_send_rate;
  if (rate == 0)
    return false;
  const int64_t elapsed_ms = NowMs() - rate_base_ms_;
  const double allowed = static_cast<double>(rate) * static_cast<double>(elapsed_ms) / 1000.0;
  if (static_cast<double>(bytes_sent_ - rate_base_bytes_) < allowed)
    return false;
  if (!rate_timer_) {
    Result<std::unique_ptr<net::Timer>> timer = net::Timer::Create(host_.loop(), this);
    if (!timer.ok())
      return false;
    rate_timer_ = std::move(*timer);
  }
  if (!rate_timer_->active())
    (void)rate_timer_->Start(10);
  return true;
}

void Outgoing::OnWritable(channel::ChannelConnection&) {
  Pump();
}

void Outgoing::Cancel(const std::string& reason) {
  if (IsFinal(record_.state))
    return;
  if (conn_) {
    proto::FileFrame f;
    f.mutable_cancel()->set_reason(reason);
    (void)SendControl(f);
  }
  Finish(State::kCancelled, reason);
}

void Outgoing::Finish(State state, std::string error) {
  record_.state = state;
  record_.error = std::move(error);
  record_.bytes_done = bytes_sent_;
  host_.Save(record_);
  spdlog::info("transfer {} to {}: {}{}{}", IdHex(record_.id), record_.peer, StateName(state),
               record_.error.empty() ? "" : ": ", record_.error);
  ready_.clear();
  file_.reset();
  phase_ = Phase::kIdle;
  StopReaching();
  if (conn_)
    conn_->Shutdown();  // flushes a last cancel; OnClosed drops the connection
}

Outgoing::~Outgoing() {
  StopReaching();
}

void Outgoing::StopReaching() {
  if (reaching_ && host_.dialer() != nullptr)
    host_.dialer()->Cancel(this);
  reaching_ = false;
}

void Outgoing::Close() {
  StopReaching();
  if (rate_timer_)
    rate_timer_->Close();
  if (conn_)
    conn_->Close();
}

void Outgoing::OnClosed(channel::ChannelConnection&, Status status) {
  std::unique_ptr<channel::ChannelConnection> dead = std::move(conn_);
  ready_.clear();
  file_.reset();
  ++generation_;
  if (!IsFinal(record_.state)) {
    spdlog::info("transfer {} to {}: connection closed ({}); will resume", IdHex(record_.id),
                 record_.peer, status.ToString());
    if (bytes_sent_ > record_.bytes_done) {
      record_.bytes_done = bytes_sent_;  // informative: the receiver decides the offset
      host_.Save(record_);
    }
  }
  phase_ = Phase::kIdle;  // Transfers has it reach again when retry_due
  // `dead` goes here: destroying the connection from its OnClosed is allowed.
}

}  // namespace confab::peer::transfer
