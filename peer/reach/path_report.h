// How a channel reached us or we reached a contact: the transport, and the
// report `confab who --verbose` shows (the Dialer writes it for outbound
// channels, ChatSessions for inbound ones).
#pragma once

#include <string>
#include <string_view>

namespace confab::peer {

enum class Transport { kNone, kTcp, kUdp };  // kNone: no direct path found

// "none", "tcp", "udp": the words of `confab who --verbose` and its JSON.
constexpr std::string_view TransportName(Transport transport) {
  switch (transport) {
    case Transport::kTcp:
      return "tcp";
    case Transport::kUdp:
      return "udp";
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
