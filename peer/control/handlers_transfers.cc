// TransferHandlers: `confab send`, `confab transfers`,
// `confab accept|reject|cancel|resume`. The logic is in peer/transfer.
#include <string>
#include <vector>

#include "peer/control/control_handlers.h"
#include "peer/control/control_response.h"
#include "peer/control/entries.h"
#include "peer/control/id_prefix.h"

namespace confab::peer {

Result<transfer::TransferId> TransferHandlers::ResolveId(std::string_view text) {
  if (text.size() == 32)
    return transfer::ParseId(text);
  CONFAB_ASSIGN_OR_RETURN(std::vector<transfer::TransferView> all, p_.transfers.List(std::nullopt));
  std::vector<std::string> ids;
  ids.reserve(all.size());
  for (const transfer::TransferView& v : all)
    ids.push_back(transfer::IdHex(v.record.id));
  CONFAB_ASSIGN_OR_RETURN(size_t i, MatchIdPrefix(text, ids, 32, "transfer", "confab transfers"));
  return all[i].record.id;
}

proto::Response TransferHandlers::Send(const proto::TransferSendRequest& request) {
  if (request.to().starts_with('#'))
    return SendToGroup(request);
  Result<transfer::TransferId> id = p_.transfers.Send(request.to(), request.path(), request.name());
  if (!id.ok())
    return Failure(id.status());
  p_.correspondents.Follow(request.to());
  proto::Response response;
  response.set_ok(true);
  response.set_transfer_id(transfer::IdHex(*id));
  return response;
}

// One offer per member but us, each its own transfer (the transfer layer has
// one peer per transfer): Response.transfers lists them. A refusal for the
// first member (the file cannot be read, say) refuses the whole request; a
// later one is named in the notice, and the offers made stand.
proto::Response TransferHandlers::SendToGroup(const proto::TransferSendRequest& request) {
  Result<chat::GroupInfo> g = p_.replicas.GroupNamed(GroupName(request.to()));
  if (!g.ok())
    return Failure(g.status());
  proto::Response response;
  size_t offered = 0;
  std::string refused;
  for (const std::string& member : g->membership.members) {
    if (member == p_.self_name)
      continue;
    Result<transfer::TransferId> id = p_.transfers.Send(member, request.path(), request.name());
    if (!id.ok()) {
      if (offered == 0 && refused.empty())
        return Failure(id.status());
      refused += (refused.empty() ? "" : "; ") + member + ": " + std::string(id.status().message());
      continue;
    }
    ++offered;
    p_.correspondents.Follow(member);
    Result<std::vector<transfer::TransferView>> view = p_.transfers.List(*id);
    if (view.ok() && view->size() == 1)
      FillTransfer(view->front(), p_.self_name, response.add_transfers());
  }
  if (offered == 0 && refused.empty())
    return Failure(
        Status::FailedPrecondition("#" + g->name + " has no other member to offer it to"));
  response.set_ok(true);
  if (!refused.empty())
    response.set_notice("not offered to " + refused);
  return response;
}

proto::Response TransferHandlers::List(const proto::TransfersRequest& request) {
  std::optional<transfer::TransferId> id;
  if (!request.id().empty()) {
    Result<transfer::TransferId> parsed = ResolveId(request.id());
    if (!parsed.ok())
      return Failure(parsed.status());
    id = *parsed;
  }
  Result<std::vector<transfer::TransferView>> all = p_.transfers.List(id);
  if (!all.ok())
    return Failure(all.status());
  proto::Response response;
  response.set_ok(true);
  for (const transfer::TransferView& v : *all)
    FillTransfer(v, p_.self_name, response.add_transfers());
  return response;
}

proto::Response TransferHandlers::Action(const proto::TransferActionRequest& request) {
  Result<transfer::TransferId> id = ResolveId(request.id());
  if (!id.ok())
    return Failure(id.status());
  Status s;
  switch (request.action()) {
    case proto::TransferActionRequest::ACTION_ACCEPT:
      s = p_.transfers.Accept(*id, request.to_dir());
      break;
    case proto::TransferActionRequest::ACTION_REJECT:
      s = p_.transfers.Reject(*id);
      break;
    case proto::TransferActionRequest::ACTION_CANCEL:
      s = p_.transfers.Cancel(*id);
      break;
    case proto::TransferActionRequest::ACTION_RESUME:
      s = p_.transfers.Resume(*id);
      break;
    default:
      s = Status::InvalidArgument("an unknown transfer action");
  }
  if (!s.ok())
    return Failure(s);
  proto::TransfersRequest one;
  one.set_id(transfer::IdHex(*id));
  return List(one);
}

}  // namespace confab::peer
