// ControlHandlers' routing; each area's answers are in handlers_*.cc.
#include "peer/control/control_handlers.h"

#include "peer/control/control_response.h"

namespace confab::peer {

proto::Response ControlHandlers::HandleControl(const proto::Request& request) {
  switch (request.body_case()) {
    case proto::Request::kSend:
      return messages_.Send(request.send());
    case proto::Request::kHistory:
      return messages_.History(request.history());
    case proto::Request::kWho:
      return status_.Who();
    case proto::Request::kStatus:
      return status_.SetStatus(request.status());
    case proto::Request::kContacts:
      return contacts_.Contacts(request.contacts());
    case proto::Request::kVerify:
      return contacts_.Verify(request.verify());
    case proto::Request::kExportHistory:
      return messages_.Export(request.export_history());
    case proto::Request::kSendBatch:
      return messages_.SendBatch(request.send_batch());
    case proto::Request::kSubscribeEvents:  // ControlServer answers it itself
      break;
    case proto::Request::kTransferSend:
      return transfers_.Send(request.transfer_send());
    case proto::Request::kTransfers:
      return transfers_.List(request.transfers());
    case proto::Request::kTransferAction:
      return transfers_.Action(request.transfer_action());
    case proto::Request::kNodeStatus:
      return status_.NodeStatus();
    case proto::Request::BODY_NOT_SET:
      break;
  }
  return Failure(Status::InvalidArgument("an empty request"));
}

}  // namespace confab::peer
