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
  Result<transfer::TransferId> id = p_.transfers.Send(request.to(), request.path(), request.name());
  if (!id.ok())
    return Failure(id.status());
  p_.correspondents.Follow(request.to());
  proto::Response response;
  response.set_ok(true);
  response.set_transfer_id(transfer::IdHex(*id));
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
