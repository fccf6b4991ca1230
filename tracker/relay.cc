#include "tracker/relay.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace confab::tracker {

std::string_view RefusalName(RelayRefusal refusal) {
  switch (refusal) {
    case RelayRefusal::kNone:
      return "none";
    case RelayRefusal::kDisabled:
      return "relay disabled";
    case RelayRefusal::kNotMember:
      return "not a member";
    case RelayRefusal::kRevoked:
      return "revoked";
    case RelayRefusal::kSelf:
      return "relay to self";
    case RelayRefusal::kWrongSlot:
      return "wrong slot";
    case RelayRefusal::kTooManyPairs:
      return "too many relayed pairs";
  }
  return "unknown";
}

ByteBucket::ByteBucket(double rate, double burst, uint64_t now_ms)
    : rate_per_ms_(rate / 1000.0), burst_(burst), tokens_(burst), updated_ms_(now_ms) {}

void ByteBucket::Refill(uint64_t now_ms) {
  if (now_ms < updated_ms_) {
    updated_ms_ = now_ms;  // the clock went back: no time has passed
  } else if (now_ms > updated_ms_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ms - updated_ms_) * rate_per_ms_);
    updated_ms_ = now_ms;
  }
}

size_t ByteBucket::Take(size_t wanted, uint64_t now_ms) {
  Refill(now_ms);
  const auto granted = std::min(wanted, static_cast<size_t>(std::floor(tokens_)));
  tokens_ -= static_cast<double>(granted);
  return granted;
}

uint64_t ByteBucket::WaitMs(uint64_t now_ms) {
  Refill(now_ms);
  if (tokens_ >= 1.0 || rate_per_ms_ <= 0)
    return 0;
  return static_cast<uint64_t>(std::ceil((1.0 - tokens_) / rate_per_ms_));
}

RelayCore::RelayCore(RelayConfig config, MemberLookup lookup)
    : config_(config),
      lookup_(std::move(lookup)),
      total_(config.max_rate_total, config.max_rate_total, 0) {}

RelayCore::Decision RelayCore::Refuse(RelayRefusal refusal) {
  ++metrics_.refusals[std::string(RefusalName(refusal))];
  return Decision{refusal, 0};
}

RelayRefusal RelayCore::CheckMember(const std::string& name) const {
  switch (lookup_(name)) {
    case MemberState::kMember:
      return RelayRefusal::kNone;
    case MemberState::kRevoked:
      return RelayRefusal::kRevoked;
    case MemberState::kUnknown:
      return RelayRefusal::kNotMember;
  }
  return RelayRefusal::kNotMember;
}

RelayCore::Decision RelayCore::Request(const std::string& caller, const std::string& callee,
                                       uint64_t now_ms) {
  if (!config_.enabled)
    return Refuse(RelayRefusal::kDisabled);
  if (auto r = CheckMember(caller); r != RelayRefusal::kNone)
    return Refuse(r);
  if (auto r = CheckMember(callee); r != RelayRefusal::kNone)
    return Refuse(r);
  if (caller == callee)
    return Refuse(RelayRefusal::kSelf);
  if (pairs_.size() >= config_.max_pairs)
    return Refuse(RelayRefusal::kTooManyPairs);
  const uint64_t slot = next_slot_++;
  pairs_.emplace(
      slot, Pair{caller, callee, false,
                 ByteBucket(config_.max_rate_per_pair, config_.max_rate_per_pair, now_ms), now_ms,
                 false});
  return Decision{RelayRefusal::kNone, slot};
}

RelayCore::Decision RelayCore::Join(uint64_t slot, const std::string& who, uint64_t /*now_ms*/) {
  if (!config_.enabled)
    return Refuse(RelayRefusal::kDisabled);
  if (auto r = CheckMember(who); r != RelayRefusal::kNone)
    return Refuse(r);
  auto it = pairs_.find(slot);
  if (it == pairs_.end() || it->second.active || it->second.callee != who) {
    return Refuse(RelayRefusal::kWrongSlot);
  }
  it->second.active = true;
  ++metrics_.pairs_opened;
  return Decision{RelayRefusal::kNone, slot};
}

RelayCore::Decision RelayCore::JoinCaller(uint64_t slot, const std::string& who) {
  if (!config_.enabled)
    return Refuse(RelayRefusal::kDisabled);
  if (auto r = CheckMember(who); r != RelayRefusal::kNone)
    return Refuse(r);
  auto it = pairs_.find(slot);
  if (it == pairs_.end() || it->second.caller_joined || it->second.caller != who) {
    return Refuse(RelayRefusal::kWrongSlot);
  }
  it->second.caller_joined = true;
  return Decision{RelayRefusal::kNone, slot};
}

bool RelayCore::IsCaller(uint64_t slot, const std::string& who) const {
  auto it = pairs_.find(slot);
  return it != pairs_.end() && it->second.caller == who;
}

std::vector<uint64_t> RelayCore::ExpireIncomplete(uint64_t now_ms, uint64_t max_age_ms) {
  std::vector<uint64_t> expired;
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    const Pair& p = it->second;
    if (!(p.active && p.caller_joined) && now_ms >= p.requested_ms + max_age_ms) {
      expired.push_back(it->first);
      it = pairs_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

void RelayCore::Close(uint64_t slot) {
  pairs_.erase(slot);
}

size_t RelayCore::Allow(uint64_t slot, size_t wanted, uint64_t now_ms) {
  auto it = pairs_.find(slot);
  if (it == pairs_.end() || !it->second.active)
    return 0;
  // Take from the pair first, then give back what the total bucket refuses:
  // taking the smaller of the two keeps both honest.
  const size_t from_pair = it->second.bucket.Take(wanted, now_ms);
  const size_t granted = total_.Take(from_pair, now_ms);
  // Tokens the pair gave but the total refused are lost for this pair; that
  // only slows a pair that the total limit slows anyway.
  metrics_.bytes_relayed += granted;
  return granted;
}

std::vector<uint64_t> RelayCore::OnRevoked(const std::string& name) {
  std::vector<uint64_t> closed;
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    if (it->second.caller == name || it->second.callee == name) {
      closed.push_back(it->first);
      it = pairs_.erase(it);
    } else {
      ++it;
    }
  }
  return closed;
}

size_t RelayCore::active_pairs() const {
  return static_cast<size_t>(
      std::count_if(pairs_.begin(), pairs_.end(), [](const auto& p) { return p.second.active; }));
}

}  // namespace confab::tracker
