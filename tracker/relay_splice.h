// RelaySplice: the tracker's byte copying between the two legs of each
// relayed pair (issue 15). A leg is a PURPOSE_RELAY connection the service
// admitted for a slot (TrackerService::AdmitRelay); each of its transport
// messages carries bytes of the members' own channel, which the splice
// sends on to the other leg of the same slot without reading them.
//
// Limits: a chunk goes on only once RelayCore::Allow has granted all of its
// bytes (the pair's and the total token buckets), so a pair never exceeds
// its rate; bytes wait here meanwhile. A leg whose waiting bytes pass
// kPauseAboveBytes, or whose partner has more than kPartnerHighWaterBytes
// queued, stops being read (TCP flow control holds the sender back); one
// with more than kMaxHeldBytes waiting is closed. Bytes that arrive before
// the other leg is established wait the same way.
//
// Ownership: the server owns the connections; the splice keeps pointers from
// AddLeg until OnLegClosed. Time is the wall clock's Unix milliseconds, the
// clock RelayCore is given everywhere. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/base/bytes.h"
#include "common/base/result.h"
#include "common/channel/channel_connection.h"
#include "common/net/loop.h"
#include "common/net/timer.h"
#include "tracker/presence.h"
#include "tracker/relay.h"

namespace confab::tracker {

inline constexpr size_t kPauseAboveBytes = 64 * 1024;
inline constexpr size_t kPartnerHighWaterBytes = 1 << 20;
inline constexpr size_t kMaxHeldBytes = 4 << 20;
// How often waiting bytes are looked at again while any wait.
inline constexpr uint64_t kRelayTickMs = 5;

class RelaySplice final : private net::Timer::Delegate {
 public:
  // `core` must outlive the splice.
  [[nodiscard]] static Result<std::unique_ptr<RelaySplice>> Create(net::Loop& loop,
                                                                   RelayCore& core);
  ~RelaySplice() override;

  // `connection` (the server's id `id`) is a leg of `slot` from now on; it
  // must stay alive until OnLegClosed(id).
  void AddLeg(uint64_t slot, SessionId id, channel::ChannelConnection* connection);
  // Bytes from leg `id`, for its partner. An error: close the leg.
  [[nodiscard]] Status OnMessage(SessionId id, ByteView bytes, uint64_t now_ms);
  // Leg `id` can take more: its partner's waiting bytes may go on.
  void OnWritable(SessionId id, uint64_t now_ms);
  // Leg `id` closed. Its partner gets what `id` had sent, then is shut down.
  // Returns the slot when `id` was a leg (the caller closes it in the core).
  std::optional<uint64_t> OnLegClosed(SessionId id);
  // Closes every leg of `slot` now (revocation, expiry).
  void CloseSlot(uint64_t slot);
  // Stops the timer (server shutdown); legs close with their connections.
  void Stop();

  bool IsLeg(SessionId id) const { return legs_.count(id) != 0; }
  size_t legs() const { return legs_.size(); }

 private:
  struct Leg {
    uint64_t slot = 0;
    channel::ChannelConnection* connection = nullptr;
    std::deque<Bytes> held;  // bytes for the partner, oldest first
    size_t held_bytes = 0;
    size_t paid = 0;  // tokens granted toward held.front()
    bool paused = false;
  };

  RelaySplice(net::Loop& loop, RelayCore& core) : loop_(loop), core_(core) {}
  // net::Timer::Delegate
  void OnTimer() override;

  Leg* PartnerOf(SessionId id);
  // Sends what leg `id` holds as far as the rate and the partner allow,
  // then pauses or resumes reading it. An error: too much is waiting.
  Status Forward(SessionId id, uint64_t now_ms);
  void ArmTimer();

  net::Loop& loop_;
  RelayCore& core_;
  std::unique_ptr<net::Timer> timer_;
  bool timer_running_ = false;
  std::unordered_map<SessionId, Leg> legs_;
  std::map<uint64_t, std::vector<SessionId>> slots_;  // at most two legs each
};

}  // namespace confab::tracker
