// How a channel reached us or we reached a contact: the transport, and the
// report `confab who --verbose` shows (the Dialer writes it for outbound
// channels, ChatSessions for inbound ones).
#pragma once

#include <string>
#include <string_view>

namespace confab::peer {

// kNone: no path found. kRelay: a stream relayed through the tracker
// (issue 15; peer/tracker_link/relay_stream.h), the channel inside it.
enum class Transport { kNone, kTcp, kUdp, kRelay };

// "none", "tcp", "udp", "relay": the words of `confab who --verbose` and its
// JSON `path`.
constexpr std::string_view TransportName(Transport transport) {
  switch (transport) {
    case Transport::kTcp:
      return "tcp";
    case Transport::kUdp:
      return "udp";
    case Transport::kRelay:
      return "relay";
    case Transport::kNone:
      break;
  }
  return "none";
}

struct PathReport {
  Transport transport = Transport::kNone;
  std::string address;  // the peer's ip:port on that path
  std::string reason;   // why this path: what was tried before it
};

}  // namespace confab::peer
