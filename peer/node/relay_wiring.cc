#include "peer/node/relay_wiring.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/net/timer.h"

namespace confab::peer {

// The caller's stream, handed to the Dialer before the tracker has answered:
// it waits for the offer, then forwards everything to the RelayStream leg
// opened with its slot. Reading asked for early is applied to the leg.
class RelayWiring::CallerStream final : public net::ByteStream,
                                        private net::StreamDelegate,
                                        private net::Timer::Delegate {
 public:
  CallerStream(RelayWiring* owner, std::string name, uint64_t request_id)
      : owner_(owner), name_(std::move(name)), request_id_(request_id) {}
  ~CallerStream() override {
    if (owner_ != nullptr)
      owner_->Forget(request_id_);
  }
  Status Init(net::Loop& loop) {
    CONFAB_ASSIGN_OR_RETURN(timer_, net::Timer::Create(loop, this));
    return Status::Ok();
  }

  // The wiring is going, or has stopped waiting for our offer.
  void Detach() { owner_ = nullptr; }
  // The tracker offered a slot: our leg, with it.
  void Offered(net::Loop& loop, const RelayStreamParams& params) {
    owner_ = nullptr;
    if (ending_)
      return;  // closed meanwhile: the close is on its way
    Result<std::unique_ptr<RelayStream>> leg = RelayStream::Dial(loop, params, this);
    if (!leg.ok()) {
      Fail(leg.status());
      return;
    }
    leg_ = std::move(*leg);
    if (reading_)
      (void)leg_->StartReading();
  }
  // Ends the stream before it had a leg: OnClosed(`why`) from a fresh stack.
  void Fail(Status why) {
    owner_ = nullptr;
    if (ending_ || leg_)
      return;
    ending_ = true;
    why_ = std::move(why);
    if (timer_)
      (void)timer_->Start(0);
  }

  // net::ByteStream
  void set_delegate(net::StreamDelegate* delegate) override { delegate_ = delegate; }
  bool is_open() const override { return leg_ && leg_->is_open(); }
  Status StartReading() override {
    reading_ = true;
    return leg_ ? leg_->StartReading() : Status::Ok();
  }
  void StopReading() override {
    reading_ = false;
    if (leg_)
      leg_->StopReading();
  }
  Status Write(Bytes data) override {
    if (!leg_)
      return Status::FailedPrecondition("the relayed stream is not open yet");
    return leg_->Write(std::move(data));
  }
  bool want_write() const override { return leg_ && leg_->want_write(); }
  size_t write_queue_bytes() const override { return leg_ ? leg_->write_queue_bytes() : 0; }
  void Shutdown() override {
    if (leg_)
      leg_->Shutdown();
    else
      Fail(Status::Ok());
  }
  void Close() override {
    if (leg_)
      leg_->Close();
    else
      Fail(Status::Ok());
  }

 private:
  // net::StreamDelegate: the leg's events, passed on (each last).
  void OnConnected() override { delegate_->OnConnected(); }
  void OnRead(ByteView data) override { delegate_->OnRead(data); }
  void OnWritable() override { delegate_->OnWritable(); }
  void OnClosed(Status status) override { delegate_->OnClosed(std::move(status)); }
  // net::Timer::Delegate: the close of a stream that never had a leg.
  void OnTimer() override {
    if (!why_.ok())
      spdlog::info("relay to {}: {}", name_, why_.ToString());
    delegate_->OnClosed(why_);  // last: it may destroy us
  }

  RelayWiring* owner_;  // while waiting for the offer
  const std::string name_;
  const uint64_t request_id_;
  net::StreamDelegate* delegate_ = nullptr;
  std::unique_ptr<net::Timer> timer_;
  std::unique_ptr<RelayStream> leg_;
  bool reading_ = false;
  bool ending_ = false;
  Status why_;
};

// The callee's leg until the tracker took it. The handover to the PeerPort
// runs from a fresh stack (the timer): the port may drop the stream, and a
// channel must not be destroyed from inside its own welcome.
class RelayWiring::CalleeLeg final : public net::StreamDelegate, private net::Timer::Delegate {
 public:
  CalleeLeg(RelayWiring& owner, std::string caller) : owner_(owner), caller_(std::move(caller)) {}
  Status Init(net::Loop& loop) {
    CONFAB_ASSIGN_OR_RETURN(timer_, net::Timer::Create(loop, this));
    return Status::Ok();
  }
  const std::string& caller() const { return caller_; }
  std::unique_ptr<RelayStream> stream;

 private:
  void OnConnected() override { (void)timer_->Start(0); }
  // Nothing is read before the handover: the leg keeps what comes.
  void OnRead(ByteView) override {}
  void OnWritable() override {}
  void OnClosed(Status status) override {
    spdlog::info("relay from {}: {}", caller_, status.ToString());
    owner_.TakeCallee(this, /*connected=*/false);  // last
  }
  void OnTimer() override { owner_.TakeCallee(this, /*connected=*/true); }  // last

  RelayWiring& owner_;
  const std::string caller_;
  std::unique_ptr<net::Timer> timer_;
};

RelayWiring::RelayWiring(net::Loop& loop, TrackerLink& link, PeerPort& port,
                         ChannelTransports& transports)
    : loop_(loop), link_(link), port_(port), transports_(transports) {
  transports_.set_relay(this);
}

RelayWiring::~RelayWiring() {
  transports_.set_relay(nullptr);
  for (auto& [id, stream] : awaiting_)
    stream->Detach();
  // The callee legs close with `callee_`.
}

RelayStreamParams RelayWiring::LegParams(uint64_t slot) const {
  return RelayStreamParams{.tracker = link_.tracker_address(),
                           .tracker_static_key = link_.tracker_static_key(),
                           .local_static = link_.local_static(),
                           .slot = slot};
}

Result<std::unique_ptr<net::ByteStream>> RelayWiring::OpenRelay(const std::string& name) {
  CONFAB_ASSIGN_OR_RETURN(uint64_t request_id, link_.RequestRelay(name));
  auto stream = std::make_unique<CallerStream>(this, name, request_id);
  CONFAB_RETURN_IF_ERROR(stream->Init(loop_));
  awaiting_[request_id] = stream.get();
  return std::unique_ptr<net::ByteStream>(std::move(stream));
}

void RelayWiring::OnRelayOffer(const proto::RelayOffer& offer) {
  auto it = awaiting_.find(offer.request_id());
  if (it == awaiting_.end()) {
    spdlog::debug("relay offer {} for nobody waiting (abandoned)", offer.request_id());
    return;
  }
  CallerStream* stream = it->second;
  awaiting_.erase(it);
  if (!offer.accepted()) {
    stream->Fail(Status::PermissionDenied(
        "relay: " + (offer.refusal().empty() ? std::string("refused") : offer.refusal())));
    return;
  }
  spdlog::info("relay to {}: the tracker offered slot {}", offer.name(), offer.slot());
  stream->Offered(loop_, LegParams(offer.slot()));
}

void RelayWiring::OnRelayNotice(const proto::RelayNotice& notice) {
  if (closed_)
    return;
  if (callee_.size() >= kMaxPendingCalleeLegs) {
    spdlog::warn("relay from {}: {} legs already pending; not joining", notice.name(),
                 callee_.size());
    return;
  }
  auto leg = std::make_unique<CalleeLeg>(*this, notice.name());
  if (Status s = leg->Init(loop_); !s.ok()) {
    spdlog::warn("relay from {}: {}", notice.name(), s.ToString());
    return;
  }
  Result<std::unique_ptr<RelayStream>> stream =
      RelayStream::Dial(loop_, LegParams(notice.slot()), leg.get());
  if (!stream.ok()) {
    spdlog::warn("relay from {}: {}", notice.name(), stream.status().ToString());
    return;
  }
  spdlog::info("relay from {}: joining slot {}", notice.name(), notice.slot());
  leg->stream = std::move(*stream);
  CalleeLeg* raw = leg.get();
  callee_.emplace(raw, std::move(leg));
}

void RelayWiring::OnTrackerDown() {
  std::map<uint64_t, CallerStream*> waiting = std::move(awaiting_);
  awaiting_.clear();
  for (auto& [id, stream] : waiting)
    stream->Fail(Status::Unavailable("relay: the tracker session ended"));
}

void RelayWiring::Close() {
  closed_ = true;
  OnTrackerDown();
  callee_.clear();  // destroying a leg closes it
}

void RelayWiring::TakeCallee(CalleeLeg* leg, bool connected) {
  auto it = callee_.find(leg);
  if (it == callee_.end())
    return;
  std::unique_ptr<CalleeLeg> mine = std::move(it->second);
  callee_.erase(it);
  if (connected && mine->stream && mine->stream->is_open()) {
    spdlog::info("relay from {}: the leg is open; the peer port checks the channel inside",
                 mine->caller());
    port_.AcceptRelayed(std::move(mine->stream));
  }
  // `mine` goes here: destroying a leg from its OnClosed is allowed.
}

}  // namespace confab::peer
