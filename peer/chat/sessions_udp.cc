// ChatSessions' UDP side: accepting sessions from peers, and saying which
// path a contact is reached on (the Dialer dials; sessions.h).
#include <spdlog/spdlog.h>

#include <utility>

#include "common/base/wall_clock.h"
#include "peer/chat/sessions.h"
#include "peer/chat/sessions_link.h"
#include "peer/reach/contact_route.h"

namespace confab::peer {

// ---- UDP ---------------------------------------------------------------------

Status ChatSessions::CheckUdpHello(proto::Purpose /*purpose*/, ByteView certificate,
                                   const crypto::X25519PublicKey& remote_static) {
  // The same checks as a TCP hello, before the endpoint keeps any state; the
  // channel inside the session checks the hello again.
  Result<std::string> peer =
      CheckPeerHello(certificate, remote_static, params_.self_name, revoked_keys_,
                     params_.org_public_key, contacts_, NowUnix(), NowMs());
  return peer.status();
}

void ChatSessions::OnUdpStream(proto::Purpose /*purpose*/,
                               std::unique_ptr<udp::SessionStream> stream,
                               const net::Address& from) {
  if (closed_)
    return;
  Link* link = AddLink("", /*outbound=*/false, params_.handshake_timeout_ms);
  if (link == nullptr)
    return;
  link->transport = Transport::kUdp;
  link->udp_session = stream->session();
  Result<std::unique_ptr<channel::ChannelConnection>> conn =
      channel::ChannelConnection::AcceptOver(std::move(stream), from, PeerResponder(), link);
  if (!conn.ok()) {
    spdlog::warn("UDP session from {}: {}", from.ToString(), conn.status().ToString());
    links_.erase(link);
    return;
  }
  link->conn = std::move(*conn);
}

std::optional<PathReport> ChatSessions::PathTo(const std::string& name) const {
  auto it = paths_.find(name);
  if (it == paths_.end())
    return std::nullopt;
  PathReport report = it->second;
  Link* link = EstablishedLinkTo(name);
  if (link != nullptr && link->transport == Transport::kUdp && udp_) {
    if (std::optional<UdpSessionView> view = udp_->View(link->udp_session); view && view->peer)
      report.address = view->peer->ToString();  // the address that answered
  }
  return report;
}

}  // namespace confab::peer
