// RelayWiring: the node's side of the relay through the tracker (issue 15;
// docs/design.md, "The relay through the tracker"). It joins what exists:
//
//   caller  the Dialer's relay lane asks ChannelTransports, which asks this
//           RelayOpener: TrackerLink::RequestRelay, and a stream handed back
//           at once. The tracker's RelayOffer (matched by request id) opens
//           the leg, a RelayStream with the slot, inside that stream; a
//           refusal closes it with PermissionDenied "relay: REASON", which
//           the Dialer adds to what was tried.
//   callee  a RelayNotice opens our leg with its slot; once the tracker took
//           it, the leg goes to PeerPort::AcceptRelayed (the usual responder
//           and hello check).
//
// The node owns it and forwards OnRelayOffer, OnRelayNotice and the link's
// disconnections. Lifetime: `loop`, `link`, `port` and `transports` outlive
// it; streams it handed out may outlive it (they then fail or go on alone).
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/net/loop.h"
#include "peer/reach/dialer.h"
#include "peer/reach/peer_port.h"
#include "peer/tracker_link/relay_stream.h"
#include "peer/tracker_link/tracker_link.h"

namespace confab::peer {

// Callee legs not yet taken by the tracker, at most: a tracker that sends
// notices faster than legs join cannot make us open sockets without bound.
inline constexpr size_t kMaxPendingCalleeLegs = 32;

class RelayWiring final : public RelayOpener {
 public:
  // Registers itself with `transports` (set_relay); the destructor undoes it.
  RelayWiring(net::Loop& loop, TrackerLink& link, PeerPort& port, ChannelTransports& transports);
  ~RelayWiring() override;
  RelayWiring(const RelayWiring&) = delete;
  RelayWiring& operator=(const RelayWiring&) = delete;

  // RelayOpener: RequestRelay's error (no session, a tracker that does not
  // relay) when the tracker cannot be asked; else the stream, not yet open.
  Result<std::unique_ptr<net::ByteStream>> OpenRelay(const std::string& name) override;

  // From TrackerLink::Delegate.
  void OnRelayOffer(const proto::RelayOffer& offer);
  void OnRelayNotice(const proto::RelayNotice& notice);
  // The tracker session ended: offers still awaited will not come.
  void OnTrackerDown();
  // Shutting down: closes the callee legs not yet handed over and joins no
  // more. Idempotent.
  void Close();

  size_t awaiting_offers() const { return awaiting_.size(); }
  size_t pending_callee_legs() const { return callee_.size(); }

 private:
  class CallerStream;
  class CalleeLeg;

  RelayStreamParams LegParams(uint64_t slot) const;
  void Forget(uint64_t request_id) { awaiting_.erase(request_id); }  // for CallerStream
  void TakeCallee(CalleeLeg* leg, bool connected);                   // for CalleeLeg: last

  net::Loop& loop_;
  TrackerLink& link_;
  PeerPort& port_;
  ChannelTransports& transports_;
  std::map<uint64_t, CallerStream*> awaiting_;  // request id -> stream waiting for its offer
  std::map<CalleeLeg*, std::unique_ptr<CalleeLeg>> callee_;
  bool closed_ = false;
};

}  // namespace confab::peer
