// ChatSessions' UDP path: dialing a contact over a UDP session when no TCP
// endpoint answered, and saying which path a contact is reached on
// (sessions.h explains the order; the PeerPort accepts UDP sessions).
#include <spdlog/spdlog.h>

#include <utility>

#include "peer/chat/sessions.h"
#include "peer/chat/sessions_link.h"

namespace confab::peer {

bool ChatSessions::DialUdp(const std::string& name) {
  Attempt& attempt = attempts_[name];
  if (attempt.udp_tried || attempt.udp_candidates.empty())
    return false;
  attempt.udp_tried = true;
  // The peer's NAT must see datagrams from them to us before ours get in:
  // the tracker relays the request, they punch, our handshake retries.
  if (Status punch = delegate_->RequestPunch(name); !punch.ok())
    spdlog::info("punch request for {}: {}", name, punch.ToString());
  std::string where;
  for (const net::Address& a : attempt.udp_candidates)
    where += (where.empty() ? "" : ",") + a.ToString();
  Link* link =
      AddLink(name, /*outbound=*/true, udp_.handshake_give_up_ms() + params_.handshake_timeout_ms);
  if (link == nullptr)
    return false;
  link->transport = "udp";
  link->dialed = where;
  Result<std::unique_ptr<channel::ChannelConnection>> conn = udp_.DialChannel(
      attempt.udp_candidates, ChatInitiator(attempt.remote_static), link, &link->udp_session);
  if (!conn.ok()) {
    attempt.failures.push_back("udp " + where + ": " + std::string(conn.status().message()));
    links_.erase(link);
    return false;
  }
  spdlog::info("reaching {} over UDP ({})", name, where);
  link->conn = std::move(*conn);
  attempt.dialing = link;
  return true;
}

std::optional<PathReport> ChatSessions::PathTo(const std::string& name) const {
  auto it = paths_.find(name);
  if (it == paths_.end())
    return std::nullopt;
  PathReport report = it->second;
  Link* link = EstablishedLinkTo(name);
  if (link != nullptr && link->transport == "udp") {
    if (std::optional<UdpSessionView> view = udp_.View(link->udp_session); view && view->peer)
      report.address = view->peer->ToString();  // the address that answered
  }
  return report;
}

}  // namespace confab::peer
