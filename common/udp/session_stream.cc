#include "common/udp/session_stream.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace confab::udp {
namespace {

constexpr uint64_t kShutdownPollMs = 20;

}  // namespace

SessionStream::SessionStream(std::shared_ptr<StreamTable> table, SessionId id, uint8_t stream,
                             bool open)
    : table_(table), id_(id), stream_(stream), state_(open ? State::kOpen : State::kConnecting) {}

Result<std::unique_ptr<SessionStream>> SessionStream::Create(net::Loop& loop,
                                                             std::shared_ptr<StreamTable> table,
                                                             SessionId id, uint8_t stream,
                                                             bool open) {
  if (!table || table->endpoint == nullptr)
    return Status::FailedPrecondition("the UDP endpoint is closed");
  if (stream >= datagram::kMaxStreams)
    return Status::InvalidArgument("no such stream");
  std::unique_ptr<SessionStream> s(new SessionStream(table, id, stream, open));
  CONFAB_ASSIGN_OR_RETURN(s->timer_, net::Timer::Create(loop, s.get()));
  table->streams[id] = s.get();
  return s;
}

SessionStream::~SessionStream() {
  *alive_ = false;
  if (state_ != State::kClosing && state_ != State::kClosed && state_ != State::kDraining) {
    if (Endpoint* ep = endpoint())
      ep->CloseSession(id_, "closed");
  }
  Unregister();
}

Endpoint* SessionStream::endpoint() const {
  std::shared_ptr<StreamTable> table = table_.lock();
  return table ? table->endpoint : nullptr;
}

void SessionStream::Unregister() {
  if (std::shared_ptr<StreamTable> table = table_.lock()) {
    auto it = table->streams.find(id_);
    if (it != table->streams.end() && it->second == this)
      table->streams.erase(it);
  }
  table_.reset();
}

Status SessionStream::StartReading() {
  if (state_ == State::kClosing || state_ == State::kClosed)
    return Status::FailedPrecondition("stream closed");
  if (reading_)
    return Status::Ok();
  reading_ = true;
  // Bytes may be waiting in the session (or here, after the peer closed):
  // deliver them from a fresh stack, not inside the caller.
  drain_pending_ = true;
  return timer_->Start(0);
}

Status SessionStream::Write(Bytes data) {
  if (state_ == State::kDraining)
    return Status::FailedPrecondition("the peer closed the session");
  if (state_ != State::kOpen)
    return Status::FailedPrecondition("stream not open");
  if (data.empty())
    return Status::Ok();
  queued_bytes_ += data.size();
  queue_.push_back(std::move(data));
  Flush();
  if (queued_bytes_ > kHighWaterBytes)
    blocked_ = true;
  return Status::Ok();
}

void SessionStream::Flush() {
  Endpoint* ep = endpoint();
  if (ep == nullptr)
    return;
  while (!queue_.empty()) {
    const Bytes& front = queue_.front();
    const ByteView rest(front.data() + queue_front_offset_, front.size() - queue_front_offset_);
    const size_t n = ep->Write(id_, stream_, rest);
    queued_bytes_ -= n;
    queue_front_offset_ += n;
    if (queue_front_offset_ < front.size())
      return;  // the session's buffer is full: OnWritable brings us back
    queue_.pop_front();
    queue_front_offset_ = 0;
  }
}

bool SessionStream::Drain() {
  static thread_local std::array<uint8_t, 64 << 10> buffer;
  const std::shared_ptr<bool> alive = alive_;
  while (reading_ && (state_ == State::kOpen || state_ == State::kShuttingDown)) {
    Endpoint* ep = endpoint();
    const size_t n = ep == nullptr ? 0 : ep->Read(id_, stream_, buffer);
    if (n == 0)
      return true;
    delegate_->OnRead(ByteView(buffer.data(), n));
    if (!*alive)
      return false;
  }
  return state_ != State::kClosing && state_ != State::kClosed;
}

void SessionStream::Shutdown() {
  if (state_ == State::kConnecting) {
    Close();
    return;
  }
  if (state_ != State::kOpen)
    return;
  state_ = State::kShuttingDown;
  shutdown_polls_ = 0;
  (void)timer_->Start(0);
}

void SessionStream::Finish(Status why, bool close_session) {
  if (state_ == State::kClosing || state_ == State::kClosed)
    return;
  if (close_session && state_ != State::kDraining) {
    if (Endpoint* ep = endpoint())
      ep->CloseSession(id_, why.ok() ? "closed" : why.message());
  }
  Unregister();
  state_ = State::kClosing;
  close_reason_ = std::move(why);
  queue_.clear();
  queue_front_offset_ = 0;
  queued_bytes_ = 0;
  blocked_ = false;
  unread_.clear();
  (void)timer_->Start(0);
}

void SessionStream::OnOpen() {
  if (state_ != State::kConnecting)
    return;
  state_ = State::kOpen;
  delegate_->OnConnected();  // last
}

void SessionStream::OnReadable() {
  if (reading_)
    (void)Drain();  // last
}

void SessionStream::OnWritable() {
  Flush();
  if (state_ == State::kOpen && blocked_ && queued_bytes_ <= kLowWaterBytes) {
    blocked_ = false;
    delegate_->OnWritable();  // last
  }
}

void SessionStream::OnSessionClosed(Status why) {
  // The session is gone from the endpoint, but what the peer sent before
  // closing is still readable during this call: keep it for the reader.
  if (Endpoint* ep = endpoint()) {
    std::array<uint8_t, 16 << 10> chunk;
    while (size_t n = ep->Read(id_, stream_, chunk))
      unread_.insert(unread_.end(), chunk.begin(), chunk.begin() + static_cast<ptrdiff_t>(n));
  }
  Unregister();
  if (state_ == State::kShuttingDown && queue_.empty())
    why = Status::Ok();  // we were closing anyway
  if (!unread_.empty() && (state_ == State::kOpen || state_ == State::kShuttingDown)) {
    state_ = State::kDraining;
    close_reason_ = std::move(why);
    if (reading_)
      (void)timer_->Start(0);
    return;
  }
  Finish(std::move(why), /*close_session=*/false);
}

void SessionStream::OnTimer() {
  const std::shared_ptr<bool> alive = alive_;
  switch (state_) {
    case State::kDraining: {
      if (!reading_)
        return;  // StartReading comes back here
      Bytes last = std::move(unread_);
      unread_.clear();
      delegate_->OnRead(last);
      if (!*alive || state_ != State::kDraining)
        return;
      state_ = State::kClosing;
      [[fallthrough]];
    }
    case State::kClosing:
      state_ = State::kClosed;
      delegate_->OnClosed(close_reason_);  // last: may destroy us
      return;
    case State::kShuttingDown: {
      Flush();
      Endpoint* ep = endpoint();
      if (ep == nullptr) {
        Finish(Status::Closed("the UDP endpoint closed"), false);
      } else if (queue_.empty() && ep->AllAcked(id_, stream_)) {
        Finish(Status::Ok(), true);
      } else if (++shutdown_polls_ * kShutdownPollMs > kShutdownTimeoutMs) {
        Finish(Status::Unavailable("the peer did not acknowledge the last bytes"), true);
      } else {
        (void)timer_->Start(kShutdownPollMs);
      }
      if (*alive && drain_pending_) {
        drain_pending_ = false;
        (void)Drain();
      }
      return;
    }
    case State::kConnecting:
    case State::kOpen:
      if (drain_pending_) {
        drain_pending_ = false;
        (void)Drain();  // last
      }
      return;
    case State::kClosed:
      return;
  }
}

}  // namespace confab::udp
