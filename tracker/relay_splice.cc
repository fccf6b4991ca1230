#include "tracker/relay_splice.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "common/base/wall_clock.h"

namespace confab::tracker {

Result<std::unique_ptr<RelaySplice>> RelaySplice::Create(net::Loop& loop, RelayCore& core) {
  std::unique_ptr<RelaySplice> splice(new RelaySplice(loop, core));
  CONFAB_ASSIGN_OR_RETURN(splice->timer_, net::Timer::Create(loop, splice.get()));
  return splice;
}

RelaySplice::~RelaySplice() {
  if (timer_)
    timer_->Close();
}

void RelaySplice::Stop() {
  timer_->Close();
  timer_running_ = false;
}

void RelaySplice::AddLeg(uint64_t slot, SessionId id, channel::ChannelConnection* connection) {
  Leg leg;
  leg.slot = slot;
  leg.connection = connection;
  legs_[id] = std::move(leg);
  slots_[slot].push_back(id);
  // The other leg may have sent bytes already: they go on once this leg is
  // established, which is after our reply is written; the timer looks.
  ArmTimer();
}

RelaySplice::Leg* RelaySplice::PartnerOf(SessionId id) {
  auto leg = legs_.find(id);
  if (leg == legs_.end())
    return nullptr;
  auto slot = slots_.find(leg->second.slot);
  if (slot == slots_.end())
    return nullptr;
  for (SessionId other : slot->second) {
    if (other != id)
      return &legs_.at(other);
  }
  return nullptr;
}

Status RelaySplice::OnMessage(SessionId id, ByteView bytes, uint64_t now_ms) {
  auto it = legs_.find(id);
  if (it == legs_.end())
    return Status::FailedPrecondition("not a relay leg");
  Leg& leg = it->second;
  leg.held.push_back(Bytes(bytes.begin(), bytes.end()));
  leg.held_bytes += bytes.size();
  return Forward(id, now_ms);
}

Status RelaySplice::Forward(SessionId id, uint64_t now_ms) {
  Leg& leg = legs_.at(id);
  Leg* partner = PartnerOf(id);
  const bool ready = partner != nullptr && partner->connection->established();
  while (ready && !leg.held.empty() &&
         partner->connection->write_queue_bytes() <= kPartnerHighWaterBytes) {
    const Bytes& chunk = leg.held.front();
    if (leg.paid < chunk.size())
      leg.paid += core_.Allow(leg.slot, chunk.size() - leg.paid, now_ms);
    if (leg.paid < chunk.size())
      break;  // the rate: wait for more tokens
    Status s = partner->connection->Send(chunk);
    if (!s.ok()) {
      partner->connection->Fail(s);
      break;
    }
    leg.held_bytes -= chunk.size();
    leg.paid = 0;
    leg.held.pop_front();
  }
  if (leg.held_bytes > kMaxHeldBytes)
    return Status::ResourceExhausted("relay: too many bytes waiting");
  const bool hold_back =
      leg.held_bytes > kPauseAboveBytes ||
      (partner != nullptr && partner->connection->write_queue_bytes() > kPartnerHighWaterBytes);
  if (hold_back && !leg.paused) {
    leg.connection->PauseReading();
    leg.paused = true;
  } else if (!hold_back && leg.paused) {
    leg.paused = false;
    CONFAB_RETURN_IF_ERROR(leg.connection->ResumeReading());
  }
  if (!leg.held.empty())
    ArmTimer();
  return Status::Ok();
}

void RelaySplice::OnWritable(SessionId id, uint64_t now_ms) {
  auto leg = legs_.find(id);
  if (leg == legs_.end())
    return;
  for (SessionId other : slots_[leg->second.slot]) {
    if (other == id)
      continue;
    if (Status s = Forward(other, now_ms); !s.ok())
      legs_.at(other).connection->Fail(s);
  }
}

std::optional<uint64_t> RelaySplice::OnLegClosed(SessionId id) {
  auto it = legs_.find(id);
  if (it == legs_.end())
    return std::nullopt;
  const uint64_t slot = it->second.slot;
  if (Leg* partner = PartnerOf(id)) {
    // What the closed leg sent before it went still reaches the partner
    // (at most kMaxHeldBytes, past the rate: the pair ends here).
    if (partner->connection->established()) {
      for (const Bytes& chunk : it->second.held) {
        if (!partner->connection->Send(chunk).ok())
          break;
      }
    }
    partner->connection->Shutdown();
  }
  legs_.erase(it);
  auto& ids = slots_[slot];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (ids.empty())
    slots_.erase(slot);
  return slot;
}

void RelaySplice::CloseSlot(uint64_t slot) {
  auto it = slots_.find(slot);
  if (it == slots_.end())
    return;
  for (SessionId id : it->second)
    legs_.at(id).connection->Close();  // OnLegClosed follows for each
}

void RelaySplice::ArmTimer() {
  if (timer_running_)
    return;
  if (timer_->Start(kRelayTickMs, kRelayTickMs).ok())
    timer_running_ = true;
}

void RelaySplice::OnTimer() {
  const uint64_t now_ms = static_cast<uint64_t>(NowMs());
  bool waiting = false;
  std::vector<SessionId> ids;
  ids.reserve(legs_.size());
  for (const auto& [id, leg] : legs_) {
    if (!leg.held.empty())
      ids.push_back(id);
  }
  for (SessionId id : ids) {
    if (Status s = Forward(id, now_ms); !s.ok())
      legs_.at(id).connection->Fail(s);
    waiting = waiting || !legs_.at(id).held.empty();
  }
  if (!waiting) {
    timer_->Stop();
    timer_running_ = false;
  }
}

}  // namespace confab::tracker
