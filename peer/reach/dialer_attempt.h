// The Dialer's private state (dialer.h): one Attempt per (name, purpose,
// requester), with its three lanes. Only dialer.cc and dialer_relay.cc
// include this.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peer/reach/dialer.h"

namespace confab::peer {

// One path being tried: its next state, the dial in flight and its timer.
struct Dialer::Lane {
  State next = State::kNone;
  bool waiting = false;  // for the dial (or, UDP, for the head start)
  std::unique_ptr<Transports::Pending> dial;
  std::unique_ptr<Clock::Alarm> alarm;
  Result<std::unique_ptr<channel::ChannelConnection>> result = Status::Unavailable("not dialed");
  bool ended() const { return next == State::kNone && !waiting; }
};

struct Dialer::Attempt {
  Key key;
  Request request;
  Requester* requester = nullptr;
  Lane tcp;  // the lookup, then the TCP endpoints
  Lane udp;
  Lane relay;  // through the tracker, last (dialer_relay.cc)
  proto::LookupResult answer;
  bool fresh = false;  // the answer came from the tracker just now
  ContactRoute route;
  size_t next_endpoint = 0;
  std::string tcp_address;  // dialing or won
  std::string udp_address;
  udp::SessionId session = 0;
  std::vector<std::string> failures;  // what was tried, and how it ended
  // The end, once known.
  Transport won = Transport::kNone;
  std::unique_ptr<channel::ChannelConnection> connection;
  std::optional<Status> stopped;  // ended before any path was tried, or crossed
  std::optional<PathReport> stopped_path;
  bool udp_started = false;
  bool punch_requested = false;
  bool relay_started = false;
};

}  // namespace confab::peer
