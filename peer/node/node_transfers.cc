// The node's file-transfer requests on the control socket (issue 5):
// `confab send`, `confab transfers`, `confab accept|reject|cancel|resume`.
// Wiring only: the logic is in peer/transfer.
#include "peer/control/control_response.h"
#include "peer/node/node.h"

namespace confab::peer {
namespace {

void Fill(const transfer::TransferView& v, proto::TransferEntry* e) {
  const transfer::TransferRecord& r = v.record;
  e->set_id(transfer::IdHex(r.id));
  e->set_peer(r.peer);
  e->set_direction(r.direction == transfer::Direction::kOut ? "out" : "in");
  e->set_name(r.name);
  e->set_size(r.size);
  e->set_type(r.type);
  e->set_state(std::string(transfer::StateName(r.state)));
  e->set_bytes_done(v.bytes_done);
  e->set_path(r.direction == transfer::Direction::kOut ? r.source : r.path);
  e->set_error(r.error);
  e->set_rate_bytes_per_s(v.rate_bytes_per_s);
  if (!r.digest.empty())
    e->set_digest(ToHex(r.digest));
}

}  // namespace

proto::Response Node::SendFile(const proto::TransferSendRequest& request) {
  Result<transfer::TransferId> id = transfers_->Send(request.to(), request.path(), request.name());
  if (!id.ok())
    return Failure(id.status());
  if (correspondents_.insert(request.to()).second)
    link_->Subscribe({correspondents_.begin(), correspondents_.end()});
  proto::Response response;
  response.set_ok(true);
  response.set_transfer_id(transfer::IdHex(*id));
  return response;
}

proto::Response Node::ListTransfers(const proto::TransfersRequest& request) {
  std::optional<transfer::TransferId> id;
  if (!request.id().empty()) {
    Result<transfer::TransferId> parsed = transfer::ParseId(request.id());
    if (!parsed.ok())
      return Failure(parsed.status());
    id = *parsed;
  }
  Result<std::vector<transfer::TransferView>> all = transfers_->List(id);
  if (!all.ok())
    return Failure(all.status());
  proto::Response response;
  response.set_ok(true);
  for (const transfer::TransferView& v : *all)
    Fill(v, response.add_transfers());
  return response;
}

proto::Response Node::TransferAction(const proto::TransferActionRequest& request) {
  Result<transfer::TransferId> id = transfer::ParseId(request.id());
  if (!id.ok())
    return Failure(id.status());
  Status s;
  switch (request.action()) {
    case proto::TransferActionRequest::ACTION_ACCEPT:
      s = transfers_->Accept(*id, request.to_dir());
      break;
    case proto::TransferActionRequest::ACTION_REJECT:
      s = transfers_->Reject(*id);
      break;
    case proto::TransferActionRequest::ACTION_CANCEL:
      s = transfers_->Cancel(*id);
      break;
    case proto::TransferActionRequest::ACTION_RESUME:
      s = transfers_->Resume(*id);
      break;
    default:
      s = Status::InvalidArgument("an unknown transfer action");
  }
  if (!s.ok())
    return Failure(s);
  proto::TransfersRequest one;
  one.set_id(request.id());
  return ListTransfers(one);
}

}  // namespace confab::peer
