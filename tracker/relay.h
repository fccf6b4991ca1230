// RelayCore: the sans-I/O core of the tracker's relay (issue 15). It decides
// who may be relayed to whom and how many bytes may pass; the I/O that splices
// two streams (relay_splice.h) asks it and does what it says. Time is passed
// in (milliseconds, one clock for every call: the tracker uses the wall
// clock's Unix milliseconds) and membership is asked through a callback, so
// tests need no clock, no directory and no sockets.
//
// A relay pair is set up in two steps: the caller asks for a relay to a
// member (Request), the tracker hands the caller a slot number and notices the
// callee, and the callee joins with that slot (Join). Only the named callee
// may take the slot. Bytes through a pair are limited by a per-pair and a
// total token bucket (bytes per second, burst one second's worth).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace confab::tracker {

struct RelayConfig {
  bool enabled = true;
  size_t max_pairs = 64;
  double max_rate_per_pair = 4.0 * 1024 * 1024;  // bytes per second
  double max_rate_total = 32.0 * 1024 * 1024;    // bytes per second
};

// Why the relay said no; the node shows the name (RefusalName).
enum class RelayRefusal {
  kNone = 0,
  kDisabled,      // [relay] enabled = false
  kNotMember,     // caller or callee is not a member
  kRevoked,       // caller or callee has been revoked
  kSelf,          // a relay to oneself
  kWrongSlot,     // no such pending slot, or it names someone else
  kTooManyPairs,  // max_pairs reached
};
std::string_view RefusalName(RelayRefusal refusal);

enum class MemberState { kMember, kRevoked, kUnknown };

// A byte token bucket: `rate` bytes per second, up to `burst` bytes.
class ByteBucket {
 public:
  ByteBucket(double rate, double burst, uint64_t now_ms);
  // Takes up to `wanted` bytes; returns how many may pass now.
  size_t Take(size_t wanted, uint64_t now_ms);
  // Milliseconds until at least one byte may pass.
  uint64_t WaitMs(uint64_t now_ms);

 private:
  void Refill(uint64_t now_ms);
  double rate_per_ms_;
  double burst_;
  double tokens_;
  uint64_t updated_ms_;
};

struct RelayMetrics {
  uint64_t pairs_opened = 0;
  uint64_t bytes_relayed = 0;
  std::map<std::string, uint64_t> refusals;  // by RefusalName
};

class RelayCore {
 public:
  using MemberLookup = std::function<MemberState(const std::string& name)>;

  RelayCore(RelayConfig config, MemberLookup lookup);

  struct Decision {
    RelayRefusal refusal = RelayRefusal::kNone;
    uint64_t slot = 0;
    bool ok() const { return refusal == RelayRefusal::kNone; }
  };

  // `caller` asks for a relay to `callee`: a pending slot, or a refusal.
  Decision Request(const std::string& caller, const std::string& callee, uint64_t now_ms);
  // `who` joins pending `slot`; on success the pair is active.
  Decision Join(uint64_t slot, const std::string& who, uint64_t now_ms);
  // The caller attaches its own leg to `slot` (pending or active), once;
  // kWrongSlot for anyone else or a second time.
  Decision JoinCaller(uint64_t slot, const std::string& who);
  // Whether `who` is the caller of `slot`.
  bool IsCaller(uint64_t slot, const std::string& who) const;
  // Slots requested at least `max_age_ms` before `now_ms` whose two legs
  // have not both joined: removed, for the I/O to close what joined.
  std::vector<uint64_t> ExpireIncomplete(uint64_t now_ms, uint64_t max_age_ms);
  // One side of `slot` closed (or the splice failed): the pair is gone.
  void Close(uint64_t slot);

  // How many of `wanted` bytes may pass through `slot` now (both buckets).
  size_t Allow(uint64_t slot, size_t wanted, uint64_t now_ms);

  // `name` was revoked: the slots (pending or active) to close at once.
  std::vector<uint64_t> OnRevoked(const std::string& name);

  size_t active_pairs() const;
  size_t pending_pairs() const { return pairs_.size() - active_pairs(); }
  const RelayMetrics& metrics() const { return metrics_; }

 private:
  struct Pair {
    std::string caller;
    std::string callee;
    bool active = false;
    ByteBucket bucket;
    uint64_t requested_ms = 0;
    bool caller_joined = false;
  };
  Decision Refuse(RelayRefusal refusal);
  RelayRefusal CheckMember(const std::string& name) const;

  RelayConfig config_;
  MemberLookup lookup_;
  ByteBucket total_;
  uint64_t next_slot_ = 1;
  std::map<uint64_t, Pair> pairs_;
  RelayMetrics metrics_;
};

}  // namespace confab::tracker
