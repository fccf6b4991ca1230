// ControlHandlers' routing; each area's answers are in handlers_*.cc.
#include "peer/control/control_handlers.h"

#include <string>
#include <vector>

#include "common/base/member_name.h"
#include "common/base/similar_names.h"
#include "peer/control/control_response.h"

namespace confab::peer {

proto::Response ControlHandlers::HandleControl(const proto::Request& request) {
  switch (request.body_case()) {
    case proto::Request::kSend:
      if (request.send().to().starts_with('#')) {
        const std::string texts[] = {request.send().text()};
        return groups_.Send(request.send().to(), texts);
      }
      return messages_.Send(request.send());
    case proto::Request::kGroup:
      return groups_.Group(request.group());
    case proto::Request::kHistory:
      if (request.history().contact().starts_with('#'))
        return groups_.History(request.history());
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
      if (request.send_batch().to().starts_with('#')) {
        const std::vector<std::string> texts(request.send_batch().texts().begin(),
                                             request.send_batch().texts().end());
        return groups_.Send(request.send_batch().to(), texts);
      }
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
    case proto::Request::kOutbox:
      return messages_.Outbox(request.outbox());
    case proto::Request::BODY_NOT_SET:
      break;
  }
  return Failure(Status::InvalidArgument("an empty request"));
}

namespace {

// The member a request writes to, or nullptr for requests that name nobody
// new: only msg, send and contacts add create something for a name.
const std::string* NamedRecipient(const proto::Request& request) {
  switch (request.body_case()) {
    case proto::Request::kSend:
      return &request.send().to();
    case proto::Request::kSendBatch:
      return &request.send_batch().to();
    case proto::Request::kTransferSend:
      return &request.transfer_send().to();
    case proto::Request::kContacts:
      if (request.contacts().action() == proto::ContactsRequest::ACTION_ADD)
        return &request.contacts().name();
      return nullptr;
    default:
      return nullptr;
  }
}

// What a refused request would have left behind, for the error sentence.
const char* NothingDone(const proto::Request& request) {
  switch (request.body_case()) {
    case proto::Request::kTransferSend:
      return "nothing was offered";
    case proto::Request::kContacts:
      return "nothing was added";
    default:
      return "nothing was queued";
  }
}

}  // namespace

void ControlHandlers::HandleControlLater(const proto::Request& request, Reply reply) {
  const std::string* name = NamedRecipient(request);
  // Ourselves and malformed names are the handlers' own refusals.
  if (name == nullptr || *name == parts_.self_name || !ValidateMemberName(*name).ok()) {
    reply(HandleControl(request));
    return;
  }
  const std::string who = *name;
  parts_.members.Check(
      who, [this, request, who, reply](MemberCheck::Verdict verdict, const std::string& why) {
        AnswerAfterCheck(request, who, verdict, why, reply);
      });
}

void ControlHandlers::AnswerAfterCheck(const proto::Request& request, const std::string& name,
                                       MemberCheck::Verdict verdict, const std::string& why,
                                       const Reply& reply) {
  using Verdict = MemberCheck::Verdict;
  switch (verdict) {
    case Verdict::kMember:
      reply(HandleControl(request));
      return;
    case Verdict::kNoSuchMember: {
      std::vector<std::string> known(parts_.correspondents.names().begin(),
                                     parts_.correspondents.names().end());
      reply(Failure(Status::NotFound("no such member: " + name +
                                     DidYouMean(SimilarNames(name, known)) + "; " +
                                     NothingDone(request))));
      return;
    }
    case Verdict::kRevoked:
      reply(Failure(
          Status::PermissionDenied(name + "'s membership was revoked; " + NothingDone(request))));
      return;
    case Verdict::kUnknown:
      break;
  }
  // The tracker can deny service but must not stop a person writing: go on,
  // and say what could not be checked.
  proto::Response response = HandleControl(request);
  if (!response.ok())
    return reply(std::move(response));
  std::string notice = "could not check that " + name + " is a member (" + why + ")";
  switch (request.body_case()) {
    case proto::Request::kTransferSend:
      notice += "; the offer waits until they are reachable";
      break;
    case proto::Request::kContacts:
      notice += "; added anyway";
      break;
    default:
      notice += "; queued anyway: `confab outbox` lists it, `confab outbox drop ID` removes it";
  }
  response.set_notice(notice);
  reply(std::move(response));
}

}  // namespace confab::peer
