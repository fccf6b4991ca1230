// ChatSessions' view of the paths: which one a contact is reached on, with
// the address a UDP session's packets really come from (the Dialer dials;
// the PeerPort accepts).
#include <spdlog/spdlog.h>

#include <utility>

#include "peer/chat/sessions.h"
#include "peer/chat/sessions_link.h"

namespace confab::peer {

std::optional<PathReport> ChatSessions::PathTo(const std::string& name) const {
  auto it = paths_.find(name);
  if (it == paths_.end())
    return std::nullopt;
  PathReport report = it->second;
  Link* link = EstablishedLinkTo(name);
  if (link != nullptr && link->transport == Transport::kUdp) {
    if (std::optional<UdpSessionView> view = udp_.View(link->udp_session); view && view->peer)
      report.address = view->peer->ToString();  // the address that answered
  }
  return report;
}

}  // namespace confab::peer
