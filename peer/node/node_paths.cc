// Node: how peers are reached, for `confab status` and `confab who --verbose`.
#include "peer/node/node.h"

namespace confab::peer {

proto::Response Node::NodeStatus() {
  proto::Response response;
  response.set_ok(true);
  proto::NodeStatus* status = response.mutable_node_status();
  status->set_name(name_);
  status->set_tracker_connected(link_->connected());
  status->set_peer_address(port_->local_address().ToString());
  const udp::NatReport nat = port_->udp().nat();
  if (nat.public_address)
    status->set_public_udp(nat.public_address->ToString());
  status->set_nat(std::string(udp::NatMappingName(nat.mapping)));
  status->set_path_policy(std::string(PathPolicyName(options_.paths)));
  status->set_udp_sessions(static_cast<uint32_t>(port_->udp().stream_count()));
  return response;
}

void Node::AddPath(proto::ContactPresence* entry) const {
  std::optional<PathReport> path = sessions_->PathTo(entry->name());
  if (!path)
    return;
  entry->set_path(std::string(TransportName(path->transport)));
  entry->set_path_address(path->address);
  entry->set_path_reason(path->reason);
}

}  // namespace confab::peer
