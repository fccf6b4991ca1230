// ChatSessions' view of the paths: which one a contact is reached on, with
// the address a UDP session's packets really come from (the Dialer dials;
// the PeerPort accepts), and the move from the relay to a direct path.
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

bool ChatSessions::OnlyRelayed(const std::string& name) const {
  Link* link = EstablishedLinkTo(name);
  return link != nullptr && link->transport == Transport::kRelay;
}

void ChatSessions::RetryDirect() {
  if (closed_)
    return;
  std::set<std::string> relayed;
  for (const auto& [raw, link] : links_) {
    if (link->conn && OnlyRelayed(link->peer))
      relayed.insert(link->peer);
  }
  // Reach may answer before it returns: `relayed` is a copy, not links_.
  for (const std::string& name : relayed) {
    if (dialer_.InFlight(name, proto::PURPOSE_CHAT, this))
      continue;
    Dialer::Request request;
    request.name = name;
    request.initiator = ChatInitiator();
    request.direct_only = true;
    request.hold_after_no_path = false;  // the next retry is this timer's
    spdlog::info("{} is reached through the relay: trying the direct paths again", name);
    if (Status s = dialer_.Reach(std::move(request), this); !s.ok())
      spdlog::debug("not dialing {} directly now: {}", name, s.ToString());
  }
}

void ChatSessions::ShutRelayedLinks(const std::string& name) {
  // Reconcile makes two links harmless: whatever the relayed one had not
  // had acknowledged is offered again on the direct one, and entries are
  // stored once by id. Shutdown sends what was queued, then closes.
  for (const auto& [raw, link] : links_) {
    if (link->peer == name && link->conn && link->transport == Transport::kRelay) {
      spdlog::info("chat with {} moves off the relay to a direct path", name);
      link->conn->Shutdown();
    }
  }
}

}  // namespace confab::peer
