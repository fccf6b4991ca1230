// StatusHandlers: `confab who` (with how each peer is reached, for
// --verbose), `confab status` to set ours and, with no argument, the node's.
#include <map>
#include <set>

#include "common/protocol/presence_names.h"
#include "peer/control/control_handlers.h"
#include "peer/control/control_response.h"

namespace confab::peer {
namespace {

void AddPath(const ChatSessions& sessions, proto::ContactPresence* entry) {
  std::optional<PathReport> path = sessions.PathTo(entry->name());
  if (!path)
    return;
  entry->set_path(std::string(TransportName(path->transport)));
  entry->set_path_address(path->address);
  entry->set_path_reason(path->reason);
}

}  // namespace

proto::Response StatusHandlers::Who() {
  Result<std::vector<Contact>> all = p_.contacts.List();
  if (!all.ok())
    return Failure(all.status());
  std::map<std::string, const Contact*> known;
  for (const Contact& c : *all)
    known[c.name] = &c;
  std::set<std::string> names(p_.correspondents.names());
  for (const auto& [name, contact] : known)
    names.insert(name);
  Result<std::map<std::string, int64_t>> unread = p_.history.UnreadCounts();
  if (!unread.ok())
    return Failure(unread.status());
  proto::Response response;
  response.set_ok(true);
  for (const std::string& name : names) {
    auto c = known.find(name);
    proto::ContactPresence* entry = response.add_contacts();
    *entry = p_.feed.PresenceOf(name, c == known.end() ? nullptr : c->second);
    AddPath(p_.sessions, entry);
    if (auto n = unread->find(name); n != unread->end())
      entry->set_unread(static_cast<uint32_t>(n->second));
  }
  return response;
}

proto::Response StatusHandlers::SetStatus(const proto::StatusRequest& request) {
  std::optional<proto::PresenceStatus> status = protocol::ParseSettableStatus(request.status());
  if (!status)
    return Failure(Status::InvalidArgument("status must be online, away, busy or invisible"));
  if (request.text().size() > 140)
    return Failure(Status::InvalidArgument("status text is at most 140 bytes"));
  p_.link.SetStatus(*status, request.text());
  proto::Response response;
  response.set_ok(true);
  return response;
}

proto::Response StatusHandlers::NodeStatus() {
  proto::Response response;
  response.set_ok(true);
  proto::NodeStatus* status = response.mutable_node_status();
  status->set_name(p_.self_name);
  status->set_tracker_connected(p_.link.connected());
  status->set_tracker_address(p_.link.tracker_address().ToString());
  status->set_peer_address(p_.port.local_address().ToString());
  const udp::NatReport nat = p_.port.udp().nat();
  if (nat.public_address)
    status->set_public_udp(nat.public_address->ToString());
  status->set_nat(std::string(udp::NatMappingName(nat.mapping)));
  status->set_path_policy(std::string(PathPolicyName(p_.paths)));
  status->set_udp_sessions(static_cast<uint32_t>(p_.port.udp().stream_count()));
  status->set_relayed_sessions(static_cast<uint32_t>(p_.sessions.SessionsOver(Transport::kRelay)));
  const proto::SetStatus own = p_.link.status();
  status->set_status(own.status() == proto::PRESENCE_UNKNOWN
                         ? "online"
                         : std::string(protocol::PresenceStatusName(own.status())));
  status->set_status_text(own.text());
  if (p_.certificate_expires_unix != nullptr)
    status->set_certificate_expires_unix_ms(*p_.certificate_expires_unix * 1000);
  return response;
}

}  // namespace confab::peer
